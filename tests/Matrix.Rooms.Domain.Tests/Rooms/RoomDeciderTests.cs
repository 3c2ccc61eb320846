using System.Text.Json.Nodes;
using Matrix.Rooms.Domain.Authorization;
using Matrix.Rooms.Domain.Events;
using Matrix.Rooms.Domain.Rooms;
using Matrix.Rooms.Domain.Errors;
using NodaTime;

namespace Matrix.Rooms.Domain.Tests.Rooms;

/// <summary>The deciders: createRoom's first events and the membership commands, in every room version.</summary>
public class RoomDeciderTests
{
    private const string RoomId = "!room:example.org";
    private const string Alice = "@alice:example.org";
    private const string Bob = "@bob:example.org";
    private static readonly Instant Now = Instant.FromUnixTimeSeconds(1_700_000_000);

    public static TheoryData<string> Versions() => new(RoomVersion.All.Select(v => v.Id));

    [Theory]
    [MemberData(nameof(Versions))]
    public void CreateRoom_builds_a_timeline_the_rules_accept_in_every_room_version(string version)
    {
        var events = CreateRoomDecider.Decide(new CreateRoom
        {
            Creator = Alice, RoomVersion = version, Name = "Tea", Topic = "Earl Grey", Invite = [Bob],
            InitialState = [new InitialStateEvent("m.room.history_visibility", "", new JsonObject { ["history_visibility"] = "joined" })],
        }, RoomId, Now).Value;

        events.Select(e => e.Type).Should().StartWith(["m.room.create", "m.room.member", "m.room.power_levels", "m.room.join_rules"]);
        events.Should().ContainSingle(e => e.Type == "m.room.member" && e.StateKey == Bob && ((MemberEvent)e).Membership == "invite");
        RoomAudit.FirstFailure(events).Should().BeNull();
        var v = RoomVersion.Get(version)!;
        events.Should().OnlyContain(e => e.EventId.Contains(':') == v.EventIdsHaveDomain, "v1–v2 event IDs carry the server name");
        ((CreateEvent)events[0]).RoomVersion.Should().Be(version);
        events[0].Content.ContainsKey("creator").Should().Be(!v.UseRoomCreateSender);
    }

    [Theory]
    [InlineData("private_chat", "invite", "can_join", 0)]
    [InlineData("trusted_private_chat", "invite", "can_join", 0)]
    [InlineData("public_chat", "public", "forbidden", 50)]
    public void Presets_set_the_join_rule_guest_access_and_invite_level(string preset, string joinRule, string guestAccess, int inviteLevel)
    {
        var state = DictionaryAuthState.FromEvents(CreateRoomDecider.Decide(new CreateRoom { RoomVersion = "10", Creator = Alice, Preset = preset }, RoomId, Now).Value);
        ((JoinRulesEvent)state.Get(new StateKey("m.room.join_rules", ""))!).JoinRule.Should().Be(joinRule);
        ((GuestAccessEvent)state.Get(new StateKey("m.room.guest_access", ""))!).GuestAccess.Should().Be(guestAccess);
        state.Get(new StateKey("m.room.power_levels", ""))!.Content["invite"]!.GetValue<int>().Should().Be(inviteLevel);
    }

    [Fact]
    public void CreateRoom_refuses_an_unknown_room_version_and_bad_invitees()
    {
        CreateRoomDecider.Decide(new CreateRoom { Creator = Alice, RoomVersion = "99" }, RoomId, Now).Error!.ErrCode.Should().Be("M_UNSUPPORTED_ROOM_VERSION");
        CreateRoomDecider.Decide(new CreateRoom { RoomVersion = "10", Creator = Alice, Invite = ["bob"] }, RoomId, Now).Error!.ErrCode.Should().Be("M_INVALID_PARAM");
    }

    [Theory]
    [InlineData("public", true)]
    [InlineData("private", true)]
    [InlineData("Public", false)]
    [InlineData("unlisted", false)]
    public void CreateRoom_visibility_is_public_or_private(string visibility, bool accepted)
    {
        var decision = CreateRoomDecider.Decide(new CreateRoom { RoomVersion = "10", Creator = Alice, Visibility = visibility }, RoomId, Now);
        (decision.Error?.ErrCode).Should().Be(accepted ? null : "M_INVALID_PARAM");
    }

    [Fact]
    public void The_seeds_four_invite_refusals_each_name_their_reason()
    {
        var state = DictionaryAuthState.FromEvents(CreateRoomDecider.Decide(new CreateRoom { RoomVersion = "10", Creator = Alice, Preset = "public_chat" }, RoomId, Now).Value);
        var banned = Apply(state, new BanUser { RoomId = RoomId, Sender = Alice, UserId = Bob });
        Refusal(banned, new InviteUser { RoomId = RoomId, Sender = Alice, UserId = Bob }).Should().Contain(Bob).And.Contain("banned");
        Refusal(state, new InviteUser { RoomId = RoomId, Sender = Alice, UserId = Alice }).Should().Contain("already");
        Refusal(state, new InviteUser { RoomId = RoomId, Sender = Bob, UserId = "@carol:example.org" }).Should().Contain("not in the room");
        var carolJoined = Apply(state, new JoinRoom { RoomId = RoomId, Sender = "@carol:example.org" });
        Refusal(carolJoined, new InviteUser { RoomId = RoomId, Sender = "@carol:example.org", UserId = "@dave:example.org" })
            .Should().Contain("power level");
    }

    [Fact]
    public void Unban_kick_and_leave_refuse_targets_in_the_wrong_membership()
    {
        var state = DictionaryAuthState.FromEvents(CreateRoomDecider.Decide(new CreateRoom { RoomVersion = "10", Creator = Alice }, RoomId, Now).Value);
        Refusal(state, new UnbanUser { RoomId = RoomId, Sender = Alice, UserId = Bob }).Should().Contain("not banned");
        Refusal(state, new KickUser { RoomId = RoomId, Sender = Alice, UserId = Bob }).Should().Contain("not in the room");
        Refusal(state, new LeaveRoom { RoomId = RoomId, Sender = Bob }).Should().Contain("not in the room");
    }

    [Fact]
    public void Guests_may_join_only_where_guest_access_is_can_join_and_may_not_invite()
    {
        var publicRoom = DictionaryAuthState.FromEvents(CreateRoomDecider.Decide(new CreateRoom { RoomVersion = "10", Creator = Alice, Preset = "public_chat" }, RoomId, Now).Value);
        var guestJoin = new JoinRoom { RoomId = RoomId, Sender = "@guest_1:example.org", SenderIsGuest = true };
        Decide(publicRoom, guestJoin).Error!.ErrCode.Should().Be("M_GUEST_ACCESS_FORBIDDEN");

        var canJoin = Apply(publicRoom, new SetRoomState
            { RoomId = RoomId, Sender = Alice, EventType = "m.room.guest_access", StateKey = "", Content = new JsonObject { ["guest_access"] = "can_join" } });
        var joined = Apply(canJoin, guestJoin);
        Decide(joined, new InviteUser { RoomId = RoomId, Sender = "@guest_1:example.org", SenderIsGuest = true, UserId = Bob })
            .Error!.ErrCode.Should().Be("M_GUEST_ACCESS_FORBIDDEN");
    }

    private static Result<MatrixEvent> Decide(DictionaryAuthState state, RoomCommand command) =>
        RoomDecider.Decide(command, RoomDecider.Draft(command, Now), state, previousEventId: "$previous");

    private static DictionaryAuthState Apply(DictionaryAuthState state, RoomCommand command) => state.Apply(Decide(state, command).Value);

    private static string Refusal(DictionaryAuthState state, RoomCommand command)
    {
        var result = Decide(state, command);
        result.Error.Should().NotBeNull($"{command.GetType().Name} should be refused");
        result.Error!.ErrCode.Should().Be("M_FORBIDDEN");
        return result.Error.Error;
    }
}

public class MatrixEventTests
{
    [Fact]
    public void Created_events_keep_whole_milliseconds_like_the_wire_format_so_a_replay_reproduces_them()
    {
        var precise = NodaTime.Instant.FromUnixTimeTicks(17_000_000_001_234_567L);
        var ev = Matrix.Rooms.Domain.Events.MatrixEvent.Create("m.room.message", "!r:example.org", "@a:example.org", null,
            new System.Text.Json.Nodes.JsonObject(), precise);
        ev.OriginServerTs.Should().Be(NodaTime.Instant.FromUnixTimeMilliseconds(precise.ToUnixTimeMilliseconds()));
        Matrix.Rooms.Domain.Events.MatrixEvent.FromJson(ev.ToJson()).OriginServerTs.Should().Be(ev.OriginServerTs);
    }
}

public class RoomAuditTests
{
    [Fact]
    public void The_audit_names_the_first_event_the_rules_refuse_against_the_state_before_it()
    {
        var now = NodaTime.Instant.FromUnixTimeSeconds(1_700_000_000);
        var events = CreateRoomDecider.Decide(new CreateRoom { RoomVersion = "10", Creator = "@alice:example.org" }, "!r:example.org", now).Value.ToList();
        RoomAudit.FirstFailure(events).Should().BeNull();

        var intruder = Matrix.Rooms.Domain.Events.MatrixEvent.Create("m.room.message", "!r:example.org", "@mallory:example.org", null,
            new System.Text.Json.Nodes.JsonObject { ["body"] = "hi" }, now);
        events.Insert(3, intruder);
        var failure = RoomAudit.FirstFailure(events);
        failure!.Index.Should().Be(3);
        failure.Event.Should().BeSameAs(intruder);
        failure.Decision.Rule.Should().Be("sender.not-joined");
    }
}
