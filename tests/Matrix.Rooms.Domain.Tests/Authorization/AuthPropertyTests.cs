using Matrix.Rooms.Domain.Tests.Support;
using System.Text.Json.Nodes;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Matrix.Rooms.Domain.Authorization;
using Matrix.Rooms.Domain.Crypto;
using Matrix.Rooms.Domain.Events;
using static Matrix.Rooms.Domain.Tests.Support.TestRoom;

namespace Matrix.Rooms.Domain.Tests.Authorization;

/// <summary>Properties of the rules over random sequences of events, each checked and applied when allowed.</summary>
public class AuthPropertyTests
{
    private static readonly string[] Users = [Alice, Bob, Carol, Dave, Mallory];
    private static readonly string[] MembershipValues = [Memberships.Join, Memberships.Invite, Memberships.Leave, Memberships.Ban, Memberships.Knock];
    private static readonly string[] JoinRules =
        [JoinRuleValues.Public, JoinRuleValues.Invite, JoinRuleValues.Knock, JoinRuleValues.Restricted, JoinRuleValues.KnockRestricted];
    private static readonly long[] Levels = [0, 10, 50, 75, 100];

    /// <summary>One random step: 0–5 membership change, 6 power levels, 7 join rule, 8 message, 9 name.</summary>
    public readonly record struct Step(int Kind, int Sender, int Target, int Value, int[] LevelPicks);

    private static readonly Gen<Step> StepGen =
        from kind in Gen.Choose(0, 9)
        from sender in Gen.Choose(0, Users.Length - 1)
        from target in Gen.Choose(0, Users.Length - 1)
        from value in Gen.Choose(0, 9)
        from picks in Gen.ArrayOf(Gen.Choose(-1, Levels.Length - 1), 8)
        select new Step(kind, sender, target, value, picks);

    private static Arbitrary<(int Version, Step[] Steps)> Scripts =>
        (from version in Gen.Choose(0, RoomVersion.All.Count - 1)
         from steps in Gen.ArrayOf(StepGen)
         select (version, steps)).ToArbitrary();

    private static MatrixEvent EventFor(TestRoom room, Step step)
    {
        var sender = Users[step.Sender];
        var target = Users[step.Target];
        switch (step.Kind)
        {
            case <= 5:
                var membership = MembershipValues[step.Value % MembershipValues.Length];
                // Self-targeted joins/knocks/leaves half the time so that they happen at all.
                if (step.Kind <= 2 && membership is Memberships.Join or Memberships.Knock or Memberships.Leave) target = sender;
                var extra = membership == Memberships.Join && step.Value >= 5
                    ? new JsonObject { ["join_authorised_via_users_server"] = Users[(step.Target + 1) % Users.Length] }
                    : null;
                return room.Member(sender, target, membership, extra);
            case 6:
                var users = new JsonObject();
                for (var i = 0; i < Users.Length; i++)
                    if (step.LevelPicks[i] >= 0) users[Users[i]] = Levels[step.LevelPicks[i]];
                var content = new JsonObject { ["users"] = users };
                if (step.LevelPicks[5] >= 0) content["ban"] = Levels[step.LevelPicks[5]];
                if (step.LevelPicks[6] >= 0) content["kick"] = Levels[step.LevelPicks[6]];
                if (step.LevelPicks[7] >= 0) content["users_default"] = Levels[step.LevelPicks[7]];
                return room.PowerLevelsEvent(content, sender);
            case 7:
                return room.StateEvent(EventTypes.JoinRules, sender, new JsonObject { ["join_rule"] = JoinRules[step.Value % JoinRules.Length] });
            case 8:
                return room.Message(sender);
            default:
                return room.StateEvent(EventTypes.Name, sender, new JsonObject { ["name"] = "n" });
        }
    }

    private static long LevelOf(TestRoom room, string user) =>
        PowerLevels.Current(room.State.Get(EventAuth.PowerLevelsKey), room.CreateEvent, room.Version).UserLevel(user); // v12: creators are infinite

    /// <summary>
    /// Every level an allowed change of m.room.power_levels writes — a <c>users</c> entry or <c>users_default</c> it
    /// adds or changes — is at most the sender's level, so nobody is raised above the user who raised them. (The
    /// first m.room.power_levels event is exempt: "If there is no previous m.room.power_levels event in the room,
    /// allow". And removing an entry lets the user fall back to an existing <c>users_default</c>, which the spec does
    /// not compare with the sender's level: see <see cref="PowerLevelRulesTests"/>.)
    /// </summary>
    [Property(MaxTest = 300)]
    public Property No_allowed_power_levels_change_gives_anyone_a_level_above_its_senders() =>
        Prop.ForAll(Scripts, script =>
        {
            var room = Created(RoomVersion.All[script.Version]).Joined(Bob, Carol, Dave);
            foreach (var step in script.Steps)
            {
                var ev = EventFor(room, step);
                var current = room.State.Get(EventAuth.PowerLevelsKey);
                var senderLevel = LevelOf(room, ev.Sender);
                if (!room.Apply(ev).Allowed || ev.Type != EventTypes.PowerLevels || current is null) continue;
                var before = PowerLevels.Read(current.Content, room.Version);
                var after = PowerLevels.Read(ev.Content, room.Version);
                if (after.UsersDefault != before.UsersDefault && after.UsersDefault > senderLevel) return false;
                foreach (var (user, level) in after.Users)
                    if ((!before.Users.TryGetValue(user, out var old) || old != level) && level > senderLevel) return false;
                if (after.Users.Values.Append(after.UsersDefault).Any(l => l > Math.Max(senderLevel, MaxLevel(before))))
                    return false;
            }
            return true;
        });

    private static long MaxLevel(PowerLevels levels) => levels.Users.Values.Append(levels.UsersDefault).Max();

    [Property(MaxTest = 300)]
    public Property A_banned_user_comes_back_only_through_an_allowed_unban() =>
        Prop.ForAll(Scripts, script =>
        {
            var room = Created(RoomVersion.All[script.Version]).Joined(Bob, Carol);
            foreach (var step in script.Steps)
            {
                var ev = EventFor(room, step);
                var banned = ev.Type == EventTypes.Member && room.MembershipOf(ev.StateKey!) == Memberships.Ban;
                var decision = room.Apply(ev);
                if (!banned || !decision.Allowed) continue;
                var membership = ev.ContentString("membership");
                // From ban, the only allowed changes are a ban (again) or an unban by someone else.
                var isUnban = membership == Memberships.Leave && ev.Sender != ev.StateKey && decision.Rule == AuthRule.UnbanAllowed;
                if (membership != Memberships.Ban && !isUnban) return false;
            }
            return true;
        });

    [Property(MaxTest = 300)]
    public Property A_check_reads_only_the_selected_auth_events_and_names_a_known_rule() =>
        Prop.ForAll(Scripts, script =>
        {
            var ruleIds = EventAuthTests.AllRuleIds().ToHashSet();
            var room = Created(RoomVersion.All[script.Version]).Joined(Bob);
            foreach (var step in script.Steps)
            {
                var ev = EventFor(room, step);
                var recording = new RecordingState(room.State);
                var decision = EventAuth.Check(ev, recording, room.Version);
                var allowedKeys = EventAuth.AuthEventKeys(ev, room.Version).ToHashSet();
                if (!recording.Read.IsSubsetOf(allowedKeys)) return false;
                if (!ruleIds.Contains(decision.Rule) || string.IsNullOrWhiteSpace(decision.Explanation)) return false;
                if (decision.Allowed) room.Put(ev);
            }
            return true;
        });

    private sealed class RecordingState(IAuthState inner) : IAuthState
    {
        public HashSet<StateKey> Read { get; } = [];

        public MatrixEvent? Get(StateKey key)
        {
            Read.Add(key);
            return inner.Get(key);
        }
    }

    // ── crypto ───────────────────────────────────────────────────────────────────────────────────────────────────

    [Property(MaxTest = 200)]
    public bool Unpadded_base64_round_trips_in_both_alphabets(byte[] bytes) =>
        UnpaddedBase64.Decode(UnpaddedBase64.Encode(bytes)).AsSpan().SequenceEqual(bytes)
        && UnpaddedBase64.Decode(UnpaddedBase64.EncodeUrlSafe(bytes)).AsSpan().SequenceEqual(bytes)
        && !UnpaddedBase64.Encode(bytes).Contains('=');

    [Property(MaxTest = 200)]
    public bool Canonical_json_does_not_depend_on_key_order_and_is_a_fixed_point(string[] keys, int[] values)
    {
        var pairs = keys.Where(k => k is not null && !k.Any(char.IsSurrogate)).Distinct()
            .Zip(values.Select(v => (long)v)).ToList();
        var forward = new JsonObject();
        foreach (var (k, v) in pairs) forward[k] = v;
        var backward = new JsonObject();
        foreach (var (k, v) in Enumerable.Reverse(pairs)) backward[k] = v;

        var canonical = CanonicalJson.EncodeToString(forward);
        return canonical == CanonicalJson.EncodeToString(backward) && CanonicalJson.Canonicalize(canonical) == canonical;
    }
}
