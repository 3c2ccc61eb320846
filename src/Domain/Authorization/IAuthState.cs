using System.Collections;
using System.Collections.Immutable;
using Matrix.Rooms.Domain.Events;

namespace Matrix.Rooms.Domain.Authorization;

/// <summary>
/// The room state before the event being authorised, reached one piece at a time: the rules ask only for the few
/// entries listed by <see cref="EventAuth.AuthEventKeys(MatrixEvent)"/> (spec "Auth events selection"), so an
/// implementation backed by a store loads those rows and nothing that grows with the room.
/// </summary>
public interface IAuthState
{
    /// <summary>The current event for this (type, state_key), or null when the room has none.</summary>
    MatrixEvent? Get(StateKey key);
}

/// <summary>
/// An immutable in-memory <see cref="IAuthState"/>, for tests and tools. <see cref="Apply"/> returns the state after
/// a state event, leaving this one unchanged.
/// </summary>
public sealed class DictionaryAuthState : IAuthState, IReadOnlyCollection<KeyValuePair<StateKey, MatrixEvent>>
{
    private readonly ImmutableDictionary<StateKey, MatrixEvent> _events;

    private DictionaryAuthState(ImmutableDictionary<StateKey, MatrixEvent> events) => _events = events;

    public static DictionaryAuthState Empty { get; } = new(ImmutableDictionary<StateKey, MatrixEvent>.Empty);

    /// <summary>The state made of these state events, each under its own (type, state_key); later events win.</summary>
    public static DictionaryAuthState FromEvents(IEnumerable<MatrixEvent> events) =>
        events.Aggregate(Empty, static (state, ev) => state.Apply(ev));

    public static DictionaryAuthState FromEvents(params MatrixEvent[] events) => FromEvents((IEnumerable<MatrixEvent>)events);

    public MatrixEvent? Get(StateKey key) => _events.GetValueOrDefault(key);

    /// <summary>The state after <paramref name="ev"/>: a state event replaces its (type, state_key); other events change nothing.</summary>
    public DictionaryAuthState Apply(MatrixEvent ev) => ev.IsState ? With(ev.Key, ev) : this;

    /// <summary>The state with <paramref name="ev"/> under <paramref name="key"/> (whatever the event's own key).</summary>
    public DictionaryAuthState With(StateKey key, MatrixEvent ev) => new(_events.SetItem(key, ev));

    public DictionaryAuthState Without(StateKey key) => new(_events.Remove(key));

    public int Count => _events.Count;

    public IEnumerator<KeyValuePair<StateKey, MatrixEvent>> GetEnumerator() => _events.GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
