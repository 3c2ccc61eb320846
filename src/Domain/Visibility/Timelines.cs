namespace Matrix.Rooms.Domain.Visibility;

/// <summary>The room's <c>m.room.history_visibility</c> became <paramref name="Value"/> at stream position <paramref name="Position"/>.</summary>
public readonly record struct VisibilityChange(long Position, HistoryVisibility Value);

/// <summary>One user's membership became <paramref name="Membership"/> at stream position <paramref name="Position"/>.</summary>
public readonly record struct MembershipChange(long Position, MembershipState Membership);

/// <summary>
/// The history visibility in force at every stream position of one room: a sorted list of the positions of its
/// <c>m.room.history_visibility</c> events (state key <c>""</c>) and their values. Lookups are binary searches.
/// Before the first change the value is <see cref="HistoryVisibility.Shared"/> (spec: "if no
/// <c>history_visibility</c> is set … the visibility is assumed to be <c>shared</c>").
/// </summary>
public sealed class VisibilityValueTimeline
{
    private readonly long[] _positions;
    private readonly HistoryVisibility[] _values;

    public static VisibilityValueTimeline Empty { get; } = new([], []);

    private VisibilityValueTimeline(long[] positions, HistoryVisibility[] values)
    {
        _positions = positions;
        _values = values;
    }

    /// <summary>From the changes in any order; two changes at one position are an error.</summary>
    public VisibilityValueTimeline(IEnumerable<VisibilityChange> changes)
    {
        var list = changes as IReadOnlyCollection<VisibilityChange> ?? changes.ToList();
        _positions = new long[list.Count];
        _values = new HistoryVisibility[list.Count];
        var i = 0;
        foreach (var change in list)
        {
            _positions[i] = change.Position;
            _values[i++] = change.Value;
        }
        SortedTimeline.SortAndCheck(_positions, _values, nameof(changes));
    }

    /// <summary>From (position, content value) pairs as a projection stores them; unknown or null values mean <c>shared</c>.</summary>
    public static VisibilityValueTimeline From(IEnumerable<(long Position, string? Value)> changes) =>
        new(changes.Select(c => new VisibilityChange(c.Position, HistoryVisibilities.Parse(c.Value))));

    public int Count => _positions.Length;

    public IEnumerable<VisibilityChange> Changes => _positions.Select((p, i) => new VisibilityChange(p, _values[i]));

    /// <summary>The value in force when the event at <paramref name="position"/> was sent: set by a change strictly before it.</summary>
    public HistoryVisibility Before(long position)
    {
        var i = SortedTimeline.LastBefore(_positions, position);
        return i < 0 ? HistoryVisibility.Shared : _values[i];
    }

    /// <summary>The value in force just after the event at <paramref name="position"/> (a change at that position counts).</summary>
    public HistoryVisibility After(long position)
    {
        var i = SortedTimeline.LastAtOrBefore(_positions, position);
        return i < 0 ? HistoryVisibility.Shared : _values[i];
    }

    /// <summary>The value in force now (after the last change).</summary>
    public HistoryVisibility Current => _values.Length == 0 ? HistoryVisibility.Shared : _values[^1];
}

/// <summary>
/// One user's membership of one room at every stream position: a sorted list of the positions of their
/// <c>m.room.member</c> events (state key = the user) and the membership each set. Before the first change the
/// membership is <see cref="MembershipState.None"/>. Lookups are binary searches; "did the user join at or after
/// position p" is answered from the position of the last <c>join</c>, kept when the timeline is built.
/// </summary>
public sealed class UserMembershipTimeline
{
    private readonly long[] _positions;
    private readonly MembershipState[] _memberships;
    private readonly long _lastJoin;

    public static UserMembershipTimeline Empty { get; } = new([]);

    /// <summary>From the changes in any order; two changes at one position are an error.</summary>
    public UserMembershipTimeline(IEnumerable<MembershipChange> changes)
    {
        var list = changes as IReadOnlyCollection<MembershipChange> ?? changes.ToList();
        _positions = new long[list.Count];
        _memberships = new MembershipState[list.Count];
        var i = 0;
        foreach (var change in list)
        {
            _positions[i] = change.Position;
            _memberships[i++] = change.Membership;
        }
        SortedTimeline.SortAndCheck(_positions, _memberships, nameof(changes));

        _lastJoin = long.MinValue;
        for (var j = _memberships.Length - 1; j >= 0; j--)
        {
            if (_memberships[j] != MembershipState.Join) continue;
            _lastJoin = _positions[j];
            break;
        }
    }

    /// <summary>From (position, <c>membership</c> content value) pairs as a projection stores them; a missing or unknown value reads as <c>leave</c>.</summary>
    public static UserMembershipTimeline From(IEnumerable<(long Position, string? Membership)> changes) =>
        new(changes.Select(c => new MembershipChange(c.Position, MembershipStates.Parse(c.Membership ?? ""))));

    public int Count => _positions.Length;

    public IEnumerable<MembershipChange> Changes => _positions.Select((p, i) => new MembershipChange(p, _memberships[i]));

    /// <summary>The membership in force when the event at <paramref name="position"/> was sent (set strictly before it).</summary>
    public MembershipState Before(long position)
    {
        var i = SortedTimeline.LastBefore(_positions, position);
        return i < 0 ? MembershipState.None : _memberships[i];
    }

    /// <summary>The membership just after the event at <paramref name="position"/> (a change at that position counts).</summary>
    public MembershipState After(long position)
    {
        var i = SortedTimeline.LastAtOrBefore(_positions, position);
        return i < 0 ? MembershipState.None : _memberships[i];
    }

    /// <summary>The user's current membership (their last member event); <see cref="MembershipState.None"/> = peeking.</summary>
    public MembershipState Current => _memberships.Length == 0 ? MembershipState.None : _memberships[^1];

    /// <summary>The position of the user's last <c>join</c>, or null when they never joined.</summary>
    public long? LastJoinPosition => _lastJoin == long.MinValue ? null : _lastJoin;

    /// <summary>
    /// Whether the user's membership is <c>join</c> at some point at or after the event at <paramref name="position"/>,
    /// now included: either a <c>join</c> takes effect at or after it, or the membership in force just after it is
    /// <c>join</c> (and so stays <c>join</c> until the next change, or until now).
    /// </summary>
    public bool JoinedAtOrAfter(long position) =>
        (_lastJoin != long.MinValue && _lastJoin >= position) || After(position) == MembershipState.Join;
}

internal static class SortedTimeline
{
    /// <summary>Index of the last position strictly less than <paramref name="position"/>, or -1.</summary>
    public static int LastBefore(long[] positions, long position)
    {
        var i = Array.BinarySearch(positions, position);
        return i >= 0 ? i - 1 : ~i - 1;
    }

    /// <summary>Index of the last position less than or equal to <paramref name="position"/>, or -1.</summary>
    public static int LastAtOrBefore(long[] positions, long position)
    {
        var i = Array.BinarySearch(positions, position);
        return i >= 0 ? i : ~i - 1;
    }

    public static void SortAndCheck<T>(long[] positions, T[] values, string paramName)
    {
        var sorted = true;
        for (var i = 1; i < positions.Length && sorted; i++)
            sorted = positions[i - 1] < positions[i];
        if (sorted) return;

        Array.Sort(positions, values);
        for (var i = 1; i < positions.Length; i++)
            if (positions[i - 1] == positions[i])
                throw new ArgumentException($"Two changes at stream position {positions[i]}: a position holds one event.", paramName);
    }
}
