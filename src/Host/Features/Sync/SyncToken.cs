using System.Globalization;
using Matrix.Rooms.Domain.Errors;

namespace Matrix.Rooms.Host.Features.Sync;

/// <summary>
/// A <c>/sync</c> position: <c>e{events}_{ephemeral}</c>. <c>events</c> is a position in Marten's global event
/// sequence (<c>mt_events.seq_id</c>, one order over every room's stream); <c>ephemeral</c> is the position of the
/// ephemeral stream (typing, receipts, account data: <see cref="EphemeralStream"/>). Both are stored numbers that
/// neither a restart nor a projection rebuild changes, so a client's token stays valid.
/// </summary>
public readonly record struct SyncToken(long Events, long Ephemeral)
{
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"e{Events}_{Ephemeral}");

    /// <summary>The token, or null when absent; anything that is not one of ours is <c>400 M_INVALID_PARAM</c>.</summary>
    public static SyncToken? Parse(string? text)
    {
        if (string.IsNullOrEmpty(text)) return null;
        var underscore = text.IndexOf('_');
        if (text.Length > 3 && text[0] == 'e' && underscore > 1
            && long.TryParse(text.AsSpan(1, underscore - 1), NumberStyles.None, CultureInfo.InvariantCulture, out var events)
            && long.TryParse(text.AsSpan(underscore + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var ephemeral))
            return new SyncToken(events, ephemeral);
        throw new MatrixException(Invalid(text));
    }

    public static MatrixError Invalid(string text) =>
        MatrixError.InvalidParam($"'since' is not a sync token this server issued: {(text.Length > 64 ? text[..64] + "…" : text)}");
}
