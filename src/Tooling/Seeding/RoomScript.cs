using System.Text;
using System.Text.Json.Nodes;
using Bogus;
using Matrix.Rooms.Domain.Authorization;
using Matrix.Rooms.Domain.Crypto;
using Matrix.Rooms.Domain.Events;
using Matrix.Rooms.Domain.Rooms;
using NodaTime;

namespace Matrix.Rooms.Tooling.Seeding;

public sealed record SeedOptions
{
    public int Rooms { get; init; } = 10;

    /// <summary>Users who join each room (the creator included).</summary>
    public int Members { get; init; } = 10;

    /// <summary>Events per room, all told (creation and joins included); a room gets at least what creating it and its members' joins take.</summary>
    public int Events { get; init; } = 100;

    /// <summary>
    /// Activity steps per room (messages, topic/name/visibility/guest-access changes, third-party invites, leaves, kicks,
    /// bans…) whatever <see cref="Members"/> and <see cref="Events"/> say: rooms of different sizes then differ in their
    /// members only, with non-member state of the same size (sync-lazy, which measures lazy-loaded members). Null, the
    /// default: the activity is what <see cref="Events"/> leaves after creation and the joins, so it grows with it.
    /// </summary>
    public int? Activity { get; init; }

    public int Seed { get; init; } = 1;
    public string ServerName { get; init; } = "localhost";

    /// <summary>Where seeded timelines start (bulk path; the command path uses the clock).</summary>
    public Instant Epoch { get; init; } = Instant.FromUtc(2025, 1, 1, 0, 0);

    public void Validate()
    {
        if (Rooms < 1) throw new ArgumentException("--rooms must be at least 1");
        if (Members < 1) throw new ArgumentException("--members must be at least 1 (the creator)");
        if (Events < 1) throw new ArgumentException("--events must be at least 1");
        if (Activity < 0) throw new ArgumentException("the activity must not be negative");
        if (!Domain.Identifiers.ServerName.IsValid(ServerName)) throw new ArgumentException($"'{ServerName}' is not a valid server name");
    }
}

/// <summary>One step of a seeded room: the command a client would send and the event it makes (decided in memory).</summary>
public sealed record SeedStep(object Command, IReadOnlyList<MatrixEvent> Events);

/// <summary>
/// A realistic room, generated with Bogus and deterministic for a (seed, room index): a creator with a company-ish name
/// and topic, members who are invited and join (or join a public room), then a stream of activity — mostly messages,
/// plus topic and name changes, history-visibility and guest-access changes, third-party invites to e-mail addresses
/// (with a masked <c>display_name</c>) and their revocations, leaves, re-invites, kicks, bans and unbans.
/// Every step is decided against the room's state by the Domain's own deciders, so each is an event the engine accepts:
/// the command path sends the commands, the bulk path writes the events. Given the server's key, each event is also
/// sealed as a PDU as the command path's <see cref="PduChain"/> does (auth events, depth, hashes, signature, from v3 the
/// reference-hash event ID), so bulk-seeded rooms export and verify like rooms the server wrote.
/// </summary>
public sealed class RoomScript
{
    private static readonly string[] Visibilities = ["shared", "invited", "joined", "world_readable"];
    private readonly SeedOptions _options;
    private readonly Faker _faker;
    private readonly IReadOnlyList<SeedUser> _users;
    private DictionaryAuthState _state = DictionaryAuthState.Empty;
    private RoomVersion _version = RoomVersion.Default;
    private string? _last;
    private string? _lastReferenceHash; // v1–v2 prev_events pairs name it (PduChain.ReferenceHashOf)
    private Instant _now;
    private readonly List<string> _pendingInvites = [];

    /// <summary>Each member's current membership, and the members of each membership (kept as events are decided, never
    /// scanned: a 100,000-member room's activity picks a member per step).</summary>
    private readonly Dictionary<string, string> _memberships = new(StringComparer.Ordinal);
    private readonly Dictionary<string, MemberSet> _members = new(StringComparer.Ordinal);

    private readonly ServerSignature? _signer;
    private long _depth;

    /// <param name="signer">The server's key: events are sealed as signed PDUs; null leaves them as decided (the command
    /// path, where the server seals what it appends).</param>
    public RoomScript(SeedOptions options, int roomIndex, UserPool pool, ServerSignature? signer = null)
    {
        _options = options;
        _signer = signer;
        _faker = new Faker("en") { Random = new Randomizer(unchecked(options.Seed * 1_000_003 + roomIndex * 7_919 + 17)) };
        RoomId = $"!{_faker.Random.String2(18, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")}:{options.ServerName}";
        _users = pool.Pick(_faker, Math.Max(1, options.Members));
        _now = options.Epoch + Duration.FromMinutes(_faker.Random.Int(0, 60 * 24 * 365));
    }

    public string RoomId { get; }
    public string Creator => _users[0].UserId;

    /// <summary>The room's steps in order; the events of all steps number exactly <see cref="SeedOptions.Events"/> (or the
    /// minimum), or with <see cref="SeedOptions.Activity"/> the creation, the joins and that many activity steps.</summary>
    public IEnumerable<SeedStep> Steps()
    {
        var create = CreateStep();
        yield return create;
        var count = create.Events.Count;

        var joins = new Queue<SeedUser>(_users.Skip(1));
        var publicRoom = JoinRule == JoinRuleValues.Public;
        var required = count + joins.Count * (publicRoom ? 1 : 2);
        var activities = _options.Activity ?? Math.Max(0, _options.Events - required);
        var budget = _options.Activity is { } fixedActivity ? required + fixedActivity : _options.Events;
        var joinsLeft = joins.Count;
        while (joins.Count > 0 || activities > 0)
        {
            // Spread the joins through the activity, weighted by how many of each are left.
            var join = joins.Count > 0 && (activities == 0 || _faker.Random.Int(1, joinsLeft + activities) <= joinsLeft);
            if (join)
            {
                var user = joins.Dequeue();
                joinsLeft--;
                if (!publicRoom && Decide(new InviteUser { RoomId = RoomId, Sender = Creator, UserId = user.UserId }) is { } invite)
                {
                    yield return invite;
                    count++;
                }
                if (Decide(new JoinRoom { RoomId = RoomId, Sender = user.UserId, DisplayName = user.DisplayName }) is { } joined)
                {
                    yield return joined;
                    count++;
                }
                continue;
            }
            // Activities may each take one event; stop at the room's budget even if joins made it overshoot the plan.
            if (count >= budget)
            {
                activities = 0;
                continue;
            }
            yield return Activity();
            count++;
            activities--;
        }
    }

    private string JoinRule => _state.Get(EventAuth.JoinRulesKey)?.ContentString("join_rule") ?? JoinRuleValues.Invite;

    private SeedStep CreateStep()
    {
        var preset = _faker.Random.WeightedRandom([Presets.PrivateChat, Presets.PublicChat, Presets.TrustedPrivateChat], [0.5f, 0.35f, 0.15f]);
        var version = _faker.Random.WeightedRandom(["10", "11", "9", "6", "1"], [0.6f, 0.2f, 0.1f, 0.05f, 0.05f]);
        var command = new CreateRoom
        {
            Creator = Creator,
            RoomId = RoomId,
            Preset = preset,
            Name = $"{_faker.Company.CompanyName()} {_faker.Hacker.Noun()}",
            Topic = _faker.Company.CatchPhrase(),
            RoomVersion = version,
        };
        var decided = CreateRoomDecider.Decide(command, RoomId, Tick()).Value;
        _version = RoomVersion.Get(version)!;
        var events = new List<MatrixEvent>(decided.Count);
        for (var i = 0; i < decided.Count; i++)
        {
            var placed = Seal((decided[i] with { EventId = NewEventId(), OriginServerTs = i == 0 ? decided[i].OriginServerTs : Tick() }).After(_last, _version));
            events.Add(placed);
            Track(placed);
        }
        return new SeedStep(command, events);
    }

    private SeedStep Activity()
    {
        var joined = Members(Memberships.Join);
        var pick = _faker.Random.WeightedRandom(
            [Kind.Message, Kind.Topic, Kind.Name, Kind.Visibility, Kind.GuestAccess, Kind.ThirdPartyInvite, Kind.Revoke, Kind.Leave,
             Kind.Reinvite, Kind.AcceptInvite, Kind.Kick, Kind.Ban, Kind.Unban],
            Normalised(70f, 2f, 1f, 3f, 3f, 4f, 2f, 3f, 2f, 3f, 1f, 1f, 1f));
        var step = pick switch
        {
            Kind.Topic => Decide(State(EventTypes.Topic, "", new JsonObject { ["topic"] = _faker.Company.CatchPhrase() })),
            Kind.Name => Decide(State(EventTypes.Name, "", new JsonObject { ["name"] = $"{_faker.Company.CompanyName()} {_faker.Hacker.Noun()}" })),
            Kind.Visibility => Decide(State(EventTypes.HistoryVisibility, "", new JsonObject { ["history_visibility"] = _faker.PickRandom(Visibilities) })),
            Kind.GuestAccess => Decide(State(EventTypes.GuestAccess, "", new JsonObject
            {
                ["guest_access"] = (_state.Get(new StateKey(EventTypes.GuestAccess, "")) as GuestAccessEvent)?.GuestAccess == "can_join" ? "forbidden" : "can_join",
            })),
            Kind.ThirdPartyInvite => ThirdPartyInvite(),
            Kind.Revoke when _pendingInvites.Count > 0 => Revoke(),
            Kind.Leave when joined.Count > 1 => Decide(new LeaveRoom { RoomId = RoomId, Sender = AnyBut(joined, Creator) }),
            Kind.Reinvite when Members(Memberships.Leave) is { Count: > 0 } left =>
                Decide(new InviteUser { RoomId = RoomId, Sender = Creator, UserId = Any(left) }),
            Kind.AcceptInvite when Members(Memberships.Invite) is { Count: > 0 } invited =>
                Decide(new JoinRoom { RoomId = RoomId, Sender = Any(invited) }),
            Kind.Kick when joined.Count > 2 => Decide(new KickUser
                { RoomId = RoomId, Sender = Creator, UserId = AnyBut(joined, Creator), Reason = _faker.Lorem.Sentence(3) }),
            Kind.Ban when joined.Count > 2 => Decide(new BanUser
                { RoomId = RoomId, Sender = Creator, UserId = AnyBut(joined, Creator), Reason = _faker.Rant.Review() }),
            Kind.Unban when Members(Memberships.Ban) is { Count: > 0 } banned => Decide(new UnbanUser { RoomId = RoomId, Sender = Creator, UserId = Any(banned) }),
            _ => null,
        };
        // Anything not possible right now (or refused) becomes a message, which a joined member may always send.
        return step ?? Decide(Message(Any(joined)))
            ?? throw new InvalidOperationException($"The seeded room {RoomId} refused a message from a joined member");
    }

    /// <summary>Bogus's WeightedRandom wants weights that add up to 1.</summary>
    private static float[] Normalised(params float[] weights) => weights.Select(w => w / weights.Sum()).ToArray();

    private SetRoomState State(string type, string stateKey, JsonObject content) =>
        new() { RoomId = RoomId, Sender = Creator, EventType = type, StateKey = stateKey, Content = content };

    private SendRoomEvent Message(string sender)
    {
        var kind = _faker.Random.WeightedRandom(["m.text", "m.notice", "m.emote"], [0.9f, 0.05f, 0.05f]);
        var body = _faker.Random.Bool(0.8f) ? _faker.Lorem.Sentence(_faker.Random.Int(3, 18)) : _faker.Rant.Review();
        return new SendRoomEvent
        {
            RoomId = RoomId, Sender = sender, EventType = EventTypes.Message,
            Content = new JsonObject { ["msgtype"] = kind, ["body"] = body },
        };
    }

    /// <summary>An invite to an e-mail address: the address itself is never in the event, only a masked display name.</summary>
    private SeedStep? ThirdPartyInvite()
    {
        var first = _faker.Name.FirstName();
        var address = _faker.Internet.Email(first, _faker.Name.LastName());
        var (local, domain) = (address[..address.IndexOf('@')], address[(address.IndexOf('@') + 1)..]);
        var token = _faker.Random.AlphaNumeric(24);
        var key = Convert.ToBase64String(_faker.Random.Bytes(32)).TrimEnd('=');
        const string validity = "https://identity.example.org/_matrix/identity/v2/pubkey/isvalid";
        var step = Decide(State(EventTypes.ThirdPartyInvite, token, new JsonObject
        {
            ["display_name"] = $"{local[0]}…@{domain[0]}…",
            ["key_validity_url"] = validity,
            ["public_key"] = key,
            ["public_keys"] = new JsonArray(new JsonObject { ["public_key"] = key, ["key_validity_url"] = validity }),
        }));
        if (step is not null) _pendingInvites.Add(token);
        return step;
    }

    private SeedStep? Revoke()
    {
        var token = _faker.PickRandom(_pendingInvites);
        var step = Decide(State(EventTypes.ThirdPartyInvite, token, new JsonObject()));
        if (step is not null) _pendingInvites.Remove(token);
        return step;
    }

    private MemberSet Members(string membership) =>
        _members.TryGetValue(membership, out var set) ? set : _members[membership] = new MemberSet();

    private string Any(MemberSet members) => members[_faker.Random.Int(0, members.Count - 1)];

    /// <summary>A member other than <paramref name="excluded"/> (the caller makes sure there is one).</summary>
    private string AnyBut(MemberSet members, string excluded)
    {
        while (true)
            if (Any(members) is var member && member != excluded) return member;
    }

    /// <summary>The decided event as the PDU the server would store (against the state before it), or as decided without a key.</summary>
    private MatrixEvent Seal(MatrixEvent ev) =>
        _signer is null ? ev
            : PduChain.Seal(MemberEvent.WithPreviousMembership(ev.WithPreviousReferenceHash(_lastReferenceHash, _version), _state),
                Pdu.AuthEventsFor(ev, _state, _version), _version, ++_depth, _signer);

    private void Track(MatrixEvent ev)
    {
        _state = _state.Apply(ev);
        _last = ev.EventId;
        if (_signer is not null) _lastReferenceHash = PduChain.ReferenceHashOf(ev, _version);
        if (ev is MemberEvent { StateKey: { } user, Membership: { } membership })
        {
            if (_memberships.TryGetValue(user, out var previous)) Members(previous).Remove(user);
            _memberships[user] = membership;
            Members(membership).Add(user);
        }
    }

    /// <summary>Decides a command against the room as it stands; the event (or null when refused) advances the room.</summary>
    private SeedStep? Decide(RoomCommand command)
    {
        var draft = RoomDecider.Draft(command, Tick()) with { EventId = NewEventId() };
        var decided = RoomDecider.Decide(command, draft, _state, _last);
        if (!decided.IsSuccess) return null;
        var ev = Seal(decided.Value);
        Track(ev);
        return new SeedStep(command, [ev]);
    }

    private Instant Tick() => _now += Duration.FromSeconds(_faker.Random.Int(1, 300));

    private string NewEventId() => "$" + _faker.Random.String2(43, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_");

    private enum Kind { Message, Topic, Name, Visibility, GuestAccess, ThirdPartyInvite, Revoke, Leave, Reinvite, AcceptInvite, Kick, Ban, Unban }
}

/// <summary>Users with one membership: constant-time add, remove and pick by index (removal moves the last into the gap).</summary>
internal sealed class MemberSet
{
    private readonly List<string> _users = [];
    private readonly Dictionary<string, int> _index = new(StringComparer.Ordinal);

    public int Count => _users.Count;
    public string this[int i] => _users[i];

    public void Add(string user)
    {
        if (!_index.TryAdd(user, _users.Count)) return;
        _users.Add(user);
    }

    public void Remove(string user)
    {
        if (!_index.Remove(user, out var i)) return;
        var last = _users[^1];
        _users.RemoveAt(_users.Count - 1);
        if (i < _users.Count)
        {
            _users[i] = last;
            _index[last] = i;
        }
    }
}

public sealed record SeedUser(string UserId, string DisplayName);

/// <summary>The users seeded rooms draw their members from: Bogus names, deterministic for a seed, shared across rooms.</summary>
public sealed class UserPool
{
    private readonly List<SeedUser> _users;

    public UserPool(SeedOptions options)
    {
        var faker = new Faker("en") { Random = new Randomizer(options.Seed) };
        var size = Math.Clamp(options.Rooms * options.Members / 3, Math.Max(options.Members * 2, 20), 200_000);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        _users = new List<SeedUser>(size);
        while (_users.Count < size)
        {
            var first = faker.Name.FirstName();
            var last = faker.Name.LastName();
            var local = Localpart($"{first}.{last}");
            for (var n = 2; !seen.Add(local); n++) local = Localpart($"{first}.{last}{n}");
            _users.Add(new SeedUser($"@{local}:{options.ServerName}", $"{first} {last}"));
        }
    }

    /// <summary><paramref name="count"/> distinct users, chosen by <paramref name="faker"/>'s generator.</summary>
    public IReadOnlyList<SeedUser> Pick(Faker faker, int count)
    {
        count = Math.Min(count, _users.Count);
        var chosen = new HashSet<int>();
        var picked = new List<SeedUser>(count);
        while (picked.Count < count)
        {
            var i = faker.Random.Int(0, _users.Count - 1);
            if (chosen.Add(i)) picked.Add(_users[i]);
        }
        return picked;
    }

    private static string Localpart(string name)
    {
        var text = new StringBuilder(name.Length);
        foreach (var c in name.Normalize(NormalizationForm.FormD).ToLowerInvariant())
            if (c is >= 'a' and <= 'z' or >= '0' and <= '9' or '.' or '_' or '-') text.Append(c);
        return text.Length == 0 ? "user" : text.ToString();
    }
}
