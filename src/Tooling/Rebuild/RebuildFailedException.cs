namespace Matrix.Rooms.Tooling.Rebuild;

/// <summary>An event a rebuild could not read or apply: its room (stream), version, store sequence, type and Matrix event ID.</summary>
public sealed record UnappliedEvent(string StreamKey, long Version, long Sequence, string? Type, string? EventId)
{
    public override string ToString() =>
        $"event {EventId ?? "(no event_id)"} ({Type ?? "unknown type"}) at version {Version} of room {StreamKey} (sequence {Sequence})";
}

/// <summary>
/// A rebuild stopped before switching anything: the serving read models are as they were. Names the event it could not
/// read or apply when there is one.
/// </summary>
public sealed class RebuildFailedException(string message, UnappliedEvent? unapplied, Exception? inner = null) : Exception(message, inner)
{
    public UnappliedEvent? Event { get; } = unapplied;
}
