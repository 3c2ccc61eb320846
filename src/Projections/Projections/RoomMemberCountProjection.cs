using JasperFx.Events;
using Marten;
using Marten.Events.Projections;
using Matrix.Rooms.Domain.Events;
using Matrix.Rooms.Projections.Documents;

namespace Matrix.Rooms.Projections.Projections;

/// <summary>
/// Keeps <see cref="RoomMemberCounts"/>, folded by Marten as member events arrive: each member event moves the room's
/// joined and invited counts from its target's previous membership to the new one. The previous membership is the
/// event's own (<see cref="MemberEvent.PreviousMembership"/>, noted from its auth events when the server sealed it);
/// a replay from the room's first event (<see cref="IKeyedFold"/>) also remembers every target's membership, for events
/// stored before the marker. A room whose counts were never projected (a database from before this projection) gets
/// them counted once from its <see cref="RoomMember"/> rows on its next member event (<see cref="EvolveAsync"/>); until
/// then readers count the rows themselves (<see cref="RoomMemberCountReader"/>), and the tooling's <c>rebuild</c>
/// fills every room at once.
/// </summary>
public sealed partial class RoomMemberCountProjection : MultiStreamProjection<RoomMemberCounts, string>, IKeyedFold
{
    public RoomMemberCountProjection()
    {
        Name = "room_member_counts";
        Identities<CreateEvent>(e => [e.RoomId]);
        Identities<MemberEvent>(e => e.StateKey is null ? [] : [e.RoomId]);
    }

    Type IKeyedFold.DocumentType => typeof(RoomMemberCounts);

    string? IKeyedFold.KeyOf(IEvent e) => e.Data switch
    {
        CreateEvent ev => ev.RoomId,
        MemberEvent { StateKey: not null } ev => ev.RoomId,
        _ => null,
    };

    /// <summary>The replay's fold: from the room's first event, so a target not seen yet had no membership.</summary>
    object? IKeyedFold.Fold(object? current, string key, IEvent e) =>
        CountsAfter((RoomMemberCounts?)current ?? new RoomMemberCounts { Id = key, Seen = [] }, e);

    public override async ValueTask<RoomMemberCounts?> EvolveAsync(RoomMemberCounts? snapshot, string id, IQuerySession session, IEvent e,
        CancellationToken cancellation)
    {
        // A room's first event starts it at zero; a member event with no counts stored is a room projected before this
        // projection existed: count its member rows once (the state before this batch: inline projections commit with
        // the events, and the room's writes are serialised by its lock).
        snapshot ??= e.Data is CreateEvent
            ? new RoomMemberCounts { Id = id, Seen = [] }
            : await RoomMemberCountReader.CountRowsAsync(session, id, cancellation);
        return CountsAfter(snapshot, e);
    }

    /// <summary>
    /// The counts after <paramref name="e"/>. The target's previous membership is the event's marker; without one (an
    /// event stored before the marker was kept), what this fold saw of the target since the room's first event.
    /// Marten's own daemon rebuild, which may reload the document between batches, is exact only over events that
    /// carry the marker; the tooling's rebuild folds each room in memory and is exact over any events.
    /// </summary>
    private static RoomMemberCounts CountsAfter(RoomMemberCounts counts, IEvent e)
    {
        if (e.Data is not MemberEvent { StateKey: { } target } member) return counts;
        var membership = member.Membership ?? "";
        var seen = counts.Seen;
        var previous = member.PreviousMembership
                       ?? (seen is not null && seen.TryGetValue(target, out var known)
                           // The same event folded again (a page replayed) moves from what it moved from the first time.
                           ? known.Version >= e.Version ? known.Previous : known.Membership
                           : "");
        if (seen is not null) seen[target] = (e.Version, previous, membership);
        return counts with
        {
            Joined = counts.Joined - Is(previous, Memberships.Join) + Is(membership, Memberships.Join),
            Invited = counts.Invited - Is(previous, Memberships.Invite) + Is(membership, Memberships.Invite),
        };
    }

    private static int Is(string membership, string value) => membership == value ? 1 : 0;
}

/// <summary>Reads <see cref="RoomMemberCounts"/>, counting the member rows of a room that has none stored yet.</summary>
public static class RoomMemberCountReader
{
    /// <summary>The counts of <paramref name="roomIds"/>: the stored rows, and for rooms without one (a database from
    /// before the projection, until their next member event or a rebuild) a count of their member rows.</summary>
    public static async Task<IReadOnlyDictionary<string, RoomMemberCounts>> LoadAsync(IQuerySession session, IReadOnlyCollection<string> roomIds,
        CancellationToken ct)
    {
        var counts = new Dictionary<string, RoomMemberCounts>(StringComparer.Ordinal);
        if (roomIds.Count == 0) return counts;
        foreach (var stored in await session.LoadManyAsync<RoomMemberCounts>(ct, roomIds.Distinct()))
            counts[stored.Id] = stored;
        foreach (var missing in roomIds.Where(r => !counts.ContainsKey(r)).Distinct().ToList())
            counts[missing] = await CountRowsAsync(session, missing, ct);
        return counts;
    }

    /// <summary>The counts from the room's <see cref="RoomMember"/> rows (two index-only counts).</summary>
    public static async Task<RoomMemberCounts> CountRowsAsync(IQuerySession session, string roomId, CancellationToken ct)
    {
        var batch = session.CreateBatchQuery();
        var joined = batch.Query<RoomMember>().Where(m => m.RoomId == roomId && m.Membership == Memberships.Join).Count();
        var invited = batch.Query<RoomMember>().Where(m => m.RoomId == roomId && m.Membership == Memberships.Invite).Count();
        await batch.Execute(ct);
        return new RoomMemberCounts { Id = roomId, Joined = (int)await joined, Invited = (int)await invited };
    }
}
