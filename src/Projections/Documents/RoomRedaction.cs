using System.Text.Json.Serialization;
using Matrix.Rooms.Domain.Events;

namespace Matrix.Rooms.Projections.Documents;

/// <summary>
/// One <c>m.room.redaction</c> of a room, found by the event it names: readers load the redactions of a page's events in
/// one indexed query and decide at read time whether each applies (spec "Handling redactions"; <c>Redaction.Applies</c>).
/// </summary>
public sealed record RoomRedaction
{
    /// <summary>The redaction's event ID.</summary>
    public required string Id { get; init; }
    public required string RoomId { get; init; }

    /// <summary>The event it names (top-level <c>redacts</c> or <c>content.redacts</c>; the reader checks which one the room version reads).</summary>
    public required string Redacts { get; init; }

    /// <summary>The redaction's stream position: of several redactions of one event, the first that applies is shown.</summary>
    public long Position { get; init; }

    /// <summary>The redaction itself, for <c>unsigned.redacted_because</c>.</summary>
    [JsonConverter(typeof(MatrixEventConverter))]
    public required MatrixEvent Event { get; init; }
}
