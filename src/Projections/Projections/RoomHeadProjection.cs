using JasperFx.Events;
using Marten;
using Marten.Events.Projections;
using Matrix.Rooms.Domain.Authorization;
using Matrix.Rooms.Domain.Crypto;
using Matrix.Rooms.Domain.Events;
using Matrix.Rooms.Projections.Documents;

namespace Matrix.Rooms.Projections.Projections;

/// <summary>Keeps <see cref="RoomHead"/>: one row per room, moved forward by every event.</summary>
public sealed partial class RoomHeadProjection : EventProjection
{
    public RoomHeadProjection()
    {
        Name = "room_heads";
        foreach (var (clr, _) in MatrixEvent.StoredTypes) IncludeType(clr);
    }

    public override ValueTask ApplyAsync(IDocumentOperations operations, IEvent e, CancellationToken cancellation)
    {
        if (e.Data is MatrixEvent ev)
            operations.Store(new RoomHead
            {
                Id = ev.RoomId, LastEventId = ev.EventId, StreamVersion = e.Version, Depth = DepthOf(ev, e.Version),
                LastReferenceHash = ReferenceHashOf(ev),
            });
        return ValueTask.CompletedTask;
    }

    /// <summary>Only v1–v2 event IDs carry a server name (<c>$opaque:server</c>); both versions redact alike (v1's rules),
    /// so v1 stands for either. From v3 the ID is the reference hash and nothing is kept.</summary>
    private static string? ReferenceHashOf(MatrixEvent ev) =>
        ev.EventId.Contains(':') ? PduChain.ReferenceHashOf(ev, RoomVersion.V1) : null;

    /// <summary>The PDU's <c>depth</c>; for an event stored without one (seeded, or from before events were PDUs), its
    /// stream position — the depth it would have in the room's line of events.</summary>
    private static long DepthOf(MatrixEvent ev, long version) =>
        ev.Extra?.TryGetValue("depth", out var depth) == true && depth.ValueKind == System.Text.Json.JsonValueKind.Number
        && depth.TryGetInt64(out var value) ? value : version;
}
