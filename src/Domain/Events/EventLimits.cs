using System.Text;
using Matrix.Rooms.Domain.Crypto;
using Matrix.Rooms.Domain.Errors;

namespace Matrix.Rooms.Domain.Events;

/// <summary>
/// Spec "Size limits" (client-server API, room events; all room versions): "The complete event MUST NOT be larger than
/// 65536 bytes, when formatted with the federation event format, including any signatures, and encoded as Canonical
/// JSON. There are additional restrictions on sizes per key: sender, room_id, event_id, type and state_key MUST NOT
/// exceed 255 bytes", and the content obeys the <see cref="JsonInputPolicy"/>. Checked on every event the engine would
/// append, whoever builds it (HTTP, the bus, import), so all three obey the same limits.
/// </summary>
public static class EventLimits
{
    public const int MaxEventBytes = 65_536;
    public const int MaxKeyBytes = 255;

    /// <summary>
    /// Bytes kept free for the federation fields this engine does not store yet (<c>auth_events</c>, <c>hashes</c>,
    /// <c>signatures</c>, <c>depth</c>, <c>origin</c>): measured on the stored event, the limit is checked as if they
    /// were there, so nothing accepted now grows past 64 KiB once they are.
    /// </summary>
    public const int FederationAllowance = 1_024;

    /// <summary>Null when <paramref name="ev"/> may be stored; else the Matrix error that refuses it.</summary>
    public static MatrixError? Check(MatrixEvent ev)
    {
        foreach (var (name, value) in (ReadOnlySpan<(string, string?)>)
                 [("type", ev.Type), ("state_key", ev.StateKey), ("sender", ev.Sender), ("room_id", ev.RoomId), ("event_id", ev.EventId)])
        {
            if (value is null) continue;
            if (JsonInputPolicy.StringProblem(value, name) is { } invalid) return invalid;
            if (Encoding.UTF8.GetByteCount(value) > MaxKeyBytes)
                return MatrixError.InvalidParam($"The event's {name} is longer than {MaxKeyBytes} bytes");
        }
        if (JsonInputPolicy.Check(ev.Content) is { } refused) return refused;

        var pdu = ev.ToJson();
        pdu.Remove("unsigned"); // not part of the PDU's signed size: the spec counts the federation format
        if (!CanonicalJson.TryEncode(pdu, out var bytes, out var error)) return MatrixError.BadJson(error!);
        return bytes.Length + FederationAllowance > MaxEventBytes
            ? MatrixError.TooLarge($"The event would be {bytes.Length + FederationAllowance} bytes as a PDU; the limit is {MaxEventBytes}")
            : null;
    }
}
