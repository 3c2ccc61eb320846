using Matrix.Rooms.Domain.Tests.Support;
using System.Text.Json.Nodes;
using Matrix.Rooms.Domain.Authorization;
using Matrix.Rooms.Domain.Events;
using static Matrix.Rooms.Domain.Tests.Support.TestRoom;

namespace Matrix.Rooms.Domain.Tests.Authorization;

/// <summary>The m.room.member rules, one table per membership value, across the room versions that change them.</summary>
public class MemberRulesTests
{
    private static RoomVersion V(string id) => RoomVersion.Get(id)!;

    // ── shape ────────────────────────────────────────────────────────────────────────────────────────────────────

    [Fact]
    public void A_member_event_needs_a_state_key_a_membership_and_a_user_id_as_state_key()
    {
        var room = Created();

        room.Check(room.Event(EventTypes.Member, Bob, null, new JsonObject { ["membership"] = "join" }))
            .Rule.Should().Be(AuthRule.MemberStateKeyMissing);
        room.Check(room.Event(EventTypes.Member, Bob, Bob, new JsonObject { ["displayname"] = "Bob" }))
            .Rule.Should().Be(AuthRule.MemberMembershipMissing);
        room.Check(room.Event(EventTypes.Member, Bob, Bob, new JsonObject { ["membership"] = 1 }))
            .Rule.Should().Be(AuthRule.MemberMembershipMissing);
        room.Check(room.Event(EventTypes.Member, Alice, "bob", new JsonObject { ["membership"] = "invite" }))
            .Rule.Should().Be(AuthRule.MemberStateKeyInvalid);
        room.Check(room.Member(Alice, Bob, "friend")).Rule.Should().Be(AuthRule.MemberMembershipUnknown);
    }

    // ── join ─────────────────────────────────────────────────────────────────────────────────────────────────────

    public static TheoryData<string, string?, string?, string> JoinCases() => new()
    {
        // version, join rule (null = no m.room.join_rules event), Bob's membership before (null = none), rule
        { "1", JoinRuleValues.Public, null, AuthRule.JoinPublic },
        { "1", JoinRuleValues.Public, Memberships.Leave, AuthRule.JoinPublic },
        { "1", JoinRuleValues.Public, Memberships.Ban, AuthRule.JoinBanned },
        { "1", JoinRuleValues.Invite, Memberships.Invite, AuthRule.JoinInvited },
        { "1", JoinRuleValues.Invite, Memberships.Join, AuthRule.JoinInvited },
        { "1", JoinRuleValues.Invite, null, AuthRule.JoinNotInvited },
        { "1", JoinRuleValues.Invite, Memberships.Leave, AuthRule.JoinNotInvited },
        { "1", JoinRuleValues.Invite, Memberships.Ban, AuthRule.JoinBanned },
        // No m.room.join_rules event counts as invite (Synapse, gomatrixserverlib).
        { "1", null, Memberships.Invite, AuthRule.JoinInvited },
        { "1", null, null, AuthRule.JoinNotInvited },
        // "Otherwise, reject": an invited user cannot join a "private" room (gomatrixserverlib lets invited users
        // join whatever the join rule), and a joined user cannot even re-join (change profile) there.
        { "1", JoinRuleValues.Private, Memberships.Invite, AuthRule.JoinRuleForbids },
        { "1", JoinRuleValues.Private, Memberships.Join, AuthRule.JoinRuleForbids },
        { "10", "org.example.custom", Memberships.Invite, AuthRule.JoinRuleForbids },
        // knock: v7+
        { "6", JoinRuleValues.Knock, Memberships.Invite, AuthRule.JoinRuleForbids },
        { "7", JoinRuleValues.Knock, Memberships.Invite, AuthRule.JoinInvited },
        { "7", JoinRuleValues.Knock, Memberships.Join, AuthRule.JoinInvited },
        { "7", JoinRuleValues.Knock, Memberships.Knock, AuthRule.JoinNotInvited },
        { "7", JoinRuleValues.Knock, null, AuthRule.JoinNotInvited },
        // restricted: v8+
        { "7", JoinRuleValues.Restricted, Memberships.Invite, AuthRule.JoinRuleForbids },
        { "8", JoinRuleValues.Restricted, Memberships.Invite, AuthRule.JoinRestrictedMember },
        { "8", JoinRuleValues.Restricted, Memberships.Join, AuthRule.JoinRestrictedMember },
        { "8", JoinRuleValues.Restricted, null, AuthRule.JoinRestrictedNoAuthoriser },
        { "8", JoinRuleValues.Restricted, Memberships.Ban, AuthRule.JoinBanned },
        // knock_restricted: v10+
        { "9", JoinRuleValues.KnockRestricted, Memberships.Invite, AuthRule.JoinRuleForbids },
        { "10", JoinRuleValues.KnockRestricted, Memberships.Invite, AuthRule.JoinRestrictedMember },
        { "10", JoinRuleValues.KnockRestricted, Memberships.Knock, AuthRule.JoinRestrictedNoAuthoriser },
        { "11", JoinRuleValues.KnockRestricted, Memberships.Join, AuthRule.JoinRestrictedMember },
        { "11", JoinRuleValues.Public, null, AuthRule.JoinPublic },
    };

    [Theory]
    [MemberData(nameof(JoinCases))]
    public void Join_is_decided_by_the_join_rule_and_the_membership(string version, string? joinRule, string? before, string rule)
    {
        var room = Created(V(version));
        if (joinRule is not null) room.WithJoinRule(joinRule);
        if (before is not null) room.WithMembership(Bob, before);

        var decision = room.Check(room.Member(Bob, Bob, Memberships.Join));

        decision.Rule.Should().Be(rule, decision.Explanation);
        decision.Allowed.Should().Be(rule is AuthRule.JoinPublic or AuthRule.JoinInvited or AuthRule.JoinRestrictedMember);
    }

    [Fact]
    public void Nobody_joins_on_behalf_of_someone_else()
    {
        var room = Created().WithJoinRule(JoinRuleValues.Public);

        var decision = room.Check(room.Member(Alice, Bob, Memberships.Join));

        decision.Should().Be(AuthDecision.Refuse(AuthRule.JoinSenderNotTarget,
            "@alice:example.org cannot join the room on behalf of @bob:example.org: only a user can make themselves join"));
    }

    public static TheoryData<string, string?, long, long, string> RestrictedJoinCases() => new()
    {
        // join rule, Carol's membership (the authorising user), Carol's level, invite level, rule
        { JoinRuleValues.Restricted, Memberships.Join, 0, 0, AuthRule.JoinRestrictedAuthorised },
        { JoinRuleValues.Restricted, Memberships.Join, 50, 50, AuthRule.JoinRestrictedAuthorised },
        { JoinRuleValues.Restricted, Memberships.Join, 0, 50, AuthRule.JoinRestrictedAuthoriserPowerTooLow },
        { JoinRuleValues.Restricted, Memberships.Invite, 100, 0, AuthRule.JoinRestrictedAuthoriserNotJoined },
        { JoinRuleValues.Restricted, Memberships.Leave, 100, 0, AuthRule.JoinRestrictedAuthoriserNotJoined },
        { JoinRuleValues.Restricted, null, 100, 0, AuthRule.JoinRestrictedAuthoriserNotJoined },
        { JoinRuleValues.KnockRestricted, Memberships.Join, 0, 0, AuthRule.JoinRestrictedAuthorised },
        { JoinRuleValues.KnockRestricted, Memberships.Join, 10, 20, AuthRule.JoinRestrictedAuthoriserPowerTooLow },
    };

    [Theory]
    [MemberData(nameof(RestrictedJoinCases))]
    public void A_restricted_join_needs_a_joined_authoriser_who_may_invite(
        string joinRule, string? carol, long carolLevel, long inviteLevel, string rule)
    {
        var room = Created(RoomVersion.V10).WithJoinRule(joinRule)
            .WithPowerLevels(new JsonObject { ["users"] = new JsonObject { [Alice] = 100, [Carol] = carolLevel }, ["invite"] = inviteLevel });
        if (carol is not null) room.WithMembership(Carol, carol);

        var decision = room.Check(room.Member(Bob, Bob, Memberships.Join,
            new JsonObject { ["join_authorised_via_users_server"] = Carol }));

        decision.Rule.Should().Be(rule, decision.Explanation);
        decision.Allowed.Should().Be(rule == AuthRule.JoinRestrictedAuthorised);
    }

    [Fact]
    public void Join_authorised_via_users_server_means_nothing_before_restricted_rooms()
    {
        var room = Created(RoomVersion.V7).WithJoinRule(JoinRuleValues.Restricted).Joined(Carol);
        var join = room.Member(Bob, Bob, Memberships.Join, new JsonObject { ["join_authorised_via_users_server"] = Carol });

        room.Check(join).Rule.Should().Be(AuthRule.JoinRuleForbids);
        EventAuth.AuthEventKeys(join, RoomVersion.V7).Should().NotContain(new StateKey(EventTypes.Member, Carol));
        EventAuth.AuthEventKeys(join, RoomVersion.V8).Should().Contain(new StateKey(EventTypes.Member, Carol));
    }

    // ── the creator's first join ─────────────────────────────────────────────────────────────────────────────────

    [Theory]
    [InlineData("1")]
    [InlineData("6")]
    [InlineData("10")]
    [InlineData("11")]
    public void The_creator_joins_right_after_create(string version)
    {
        var room = Empty(V(version));

        room.Check(room.FirstJoin(Alice)).Rule.Should().Be(AuthRule.JoinCreatorFirstJoin);
        // "the state_key is the creator": the rule does not look at the sender (gomatrixserverlib does).
        room.Check(room.FirstJoin(Alice, sender: Bob)).Rule.Should().Be(AuthRule.JoinCreatorFirstJoin);
        room.Check(room.FirstJoin(Bob)).Rule.Should().Be(AuthRule.JoinNotInvited);
    }

    [Fact]
    public void The_first_join_needs_the_create_event_as_only_prev_event()
    {
        var room = Empty(RoomVersion.V1);
        var join = room.Member(Alice, Alice, Memberships.Join);

        room.Check(join).Rule.Should().Be(AuthRule.JoinNotInvited, "no prev_events");
        room.Check(join with { PrevEvents = [] }).Rule.Should().Be(AuthRule.JoinNotInvited);
        room.Check(join with { PrevEvents = ["$other:example.org"] }).Rule.Should().Be(AuthRule.JoinNotInvited);
        room.Check(join with { PrevEvents = [room.CreateEvent.EventId, "$other:example.org"] })
            .Rule.Should().Be(AuthRule.JoinNotInvited);
        room.Check(join with { PrevEvents = [new JsonArray(room.CreateEvent.EventId, new JsonObject())] })
            .Rule.Should().Be(AuthRule.JoinCreatorFirstJoin, "the v1 [[event_id, hashes]] shape");
    }

    [Fact]
    public void Before_v11_the_creator_is_content_creator_and_from_v11_the_create_events_sender()
    {
        // Alice sends the create event naming Bob as creator (only possible before v11, where it is read).
        var content = new JsonObject { ["creator"] = Bob };
        var v10 = Empty(RoomVersion.V10, Alice, (JsonObject)content.DeepClone());
        var v11 = Empty(RoomVersion.V11, Alice, new JsonObject { ["room_version"] = "11", ["creator"] = Bob });

        v10.Check(v10.FirstJoin(Bob)).Rule.Should().Be(AuthRule.JoinCreatorFirstJoin);
        v10.Check(v10.FirstJoin(Alice)).Allowed.Should().BeFalse();
        v11.Check(v11.FirstJoin(Alice)).Rule.Should().Be(AuthRule.JoinCreatorFirstJoin);
        v11.Check(v11.FirstJoin(Bob)).Allowed.Should().BeFalse();
    }

    // ── invite ───────────────────────────────────────────────────────────────────────────────────────────────────

    [Fact]
    public void The_seeds_four_invite_refusals_explain_themselves()
    {
        var room = Created().Joined(Carol).WithPowerLevels(new JsonObject
        {
            ["users"] = new JsonObject { [Alice] = 100 },
            ["invite"] = 50,
        });

        var bannedRoom = Copy(room).WithMembership(Bob, Memberships.Ban);
        bannedRoom.Check(bannedRoom.Member(Alice, Bob, Memberships.Invite)).Should().Be(
            AuthDecision.Refuse(AuthRule.InviteTargetBanned, "@bob:example.org is banned from the room"));

        var joinedRoom = Copy(room).Joined(Bob);
        joinedRoom.Check(joinedRoom.Member(Alice, Bob, Memberships.Invite)).Should().Be(
            AuthDecision.Refuse(AuthRule.InviteTargetJoined, "@bob:example.org is already in the room"));

        room.Check(room.Member(Dave, Bob, Memberships.Invite)).Should().Be(AuthDecision.Refuse(AuthRule.InviteSenderNotJoined,
            "@dave:example.org cannot invite @bob:example.org because @dave:example.org is not in the room"));

        var tooLow = room.Check(room.Member(Carol, Bob, Memberships.Invite));
        tooLow.Should().Be(AuthDecision.Refuse(AuthRule.InvitePowerTooLow,
            "@carol:example.org does not have a high enough power level to invite @bob:example.org (has 0, inviting needs 50)"));
        tooLow.ToMatrixError().Should().Be(Errors.MatrixError.Forbidden(tooLow.Explanation));
        tooLow.ToMatrixError().ToJson()["errcode"]!.GetValue<string>().Should().Be("M_FORBIDDEN");
    }

    private static TestRoom Copy(TestRoom room)
    {
        var copy = Created(room.Version);
        foreach (var (key, ev) in room.State) copy.Put(ev);
        return copy;
    }

    public static TheoryData<string?, string?, long, long, string> InviteCases() => new()
    {
        // inviter's membership, Bob's membership before, inviter level, invite level, rule
        { Memberships.Join, null, 0, 0, AuthRule.InviteAllowed },
        { Memberships.Join, Memberships.Leave, 0, 0, AuthRule.InviteAllowed },
        { Memberships.Join, Memberships.Invite, 0, 0, AuthRule.InviteAllowed },
        { Memberships.Join, Memberships.Knock, 0, 0, AuthRule.InviteAllowed },
        { Memberships.Join, Memberships.Join, 100, 0, AuthRule.InviteTargetJoined },
        { Memberships.Join, Memberships.Ban, 100, 0, AuthRule.InviteTargetBanned },
        { Memberships.Join, null, 49, 50, AuthRule.InvitePowerTooLow },
        { Memberships.Join, null, 50, 50, AuthRule.InviteAllowed },
        { Memberships.Invite, null, 100, 0, AuthRule.InviteSenderNotJoined },
        { Memberships.Leave, null, 100, 0, AuthRule.InviteSenderNotJoined },
        { null, null, 100, 0, AuthRule.InviteSenderNotJoined },
    };

    [Theory]
    [MemberData(nameof(InviteCases))]
    public void Invite(string? carol, string? bob, long carolLevel, long inviteLevel, string rule)
    {
        var room = Created().WithPowerLevels(new JsonObject
        {
            ["users"] = new JsonObject { [Alice] = 100, [Carol] = carolLevel },
            ["invite"] = inviteLevel,
        });
        if (carol is not null) room.WithMembership(Carol, carol);
        if (bob is not null) room.WithMembership(Bob, bob);

        var decision = room.Check(room.Member(Carol, Bob, Memberships.Invite));

        decision.Rule.Should().Be(rule, decision.Explanation);
        decision.Allowed.Should().Be(rule == AuthRule.InviteAllowed);
    }

    // ── leave, kick, unban ───────────────────────────────────────────────────────────────────────────────────────

    public static TheoryData<string, string?, bool, string> OwnLeaveCases() => new()
    {
        // version, own membership before, allowed, rule
        { "1", Memberships.Join, true, AuthRule.LeaveAllowed },
        { "1", Memberships.Invite, true, AuthRule.LeaveAllowed },
        { "6", Memberships.Knock, false, AuthRule.LeaveNotInRoom },
        { "7", Memberships.Knock, true, AuthRule.LeaveAllowed },
        // leave → leave is refused by the spec (gomatrixserverlib allows it)
        { "1", Memberships.Leave, false, AuthRule.LeaveNotInRoom },
        { "10", Memberships.Leave, false, AuthRule.LeaveNotInRoom },
        { "10", null, false, AuthRule.LeaveNotInRoom },
        { "10", Memberships.Ban, false, AuthRule.LeaveNotInRoom },
    };

    [Theory]
    [MemberData(nameof(OwnLeaveCases))]
    public void A_user_leaves_only_from_join_invite_or_knock(string version, string? before, bool allowed, string rule)
    {
        var room = Created(V(version));
        if (before is not null) room.WithMembership(Bob, before);

        var decision = room.Check(room.Member(Bob, Bob, Memberships.Leave));

        decision.Rule.Should().Be(rule, decision.Explanation);
        decision.Allowed.Should().Be(allowed);
    }

    public static TheoryData<string, long, long, long, long, string> KickAndUnbanCases() => new()
    {
        // Bob's membership, Carol's level (sender), Bob's level, kick level, ban level, rule
        { Memberships.Join, 50, 0, 50, 50, AuthRule.KickAllowed },
        { Memberships.Invite, 50, 0, 50, 50, AuthRule.KickAllowed },
        { Memberships.Leave, 50, 0, 50, 50, AuthRule.KickAllowed },
        { Memberships.Join, 49, 0, 50, 50, AuthRule.KickPowerTooLow },
        { Memberships.Join, 50, 50, 50, 50, AuthRule.KickTargetPowerTooHigh },
        { Memberships.Join, 50, 75, 0, 0, AuthRule.KickTargetPowerTooHigh },
        { Memberships.Ban, 50, 0, 50, 50, AuthRule.UnbanAllowed },
        { Memberships.Ban, 50, 0, 50, 60, AuthRule.UnbanPowerTooLow },
        // Unbanning needs the kick level too, and a target below the sender (gomatrixserverlib only asks for the ban level).
        { Memberships.Ban, 50, 0, 60, 50, AuthRule.UnbanPowerTooLow },
        { Memberships.Ban, 50, 50, 50, 50, AuthRule.UnbanTargetPowerTooHigh },
        { Memberships.Ban, 50, 80, 0, 0, AuthRule.UnbanTargetPowerTooHigh },
    };

    [Theory]
    [MemberData(nameof(KickAndUnbanCases))]
    public void Kick_and_unban(string bob, long carolLevel, long bobLevel, long kick, long ban, string rule)
    {
        var room = Created().Joined(Carol).WithPowerLevels(new JsonObject
        {
            ["users"] = new JsonObject { [Alice] = 100, [Carol] = carolLevel, [Bob] = bobLevel },
            ["kick"] = kick,
            ["ban"] = ban,
        }).WithMembership(Bob, bob);

        var decision = room.Check(room.Member(Carol, Bob, Memberships.Leave));

        decision.Rule.Should().Be(rule, decision.Explanation);
        decision.Allowed.Should().Be(rule is AuthRule.KickAllowed or AuthRule.UnbanAllowed);
    }

    [Fact]
    public void Kicking_or_unbanning_needs_the_sender_in_the_room()
    {
        var room = Created().WithLevels((Carol, 100)).WithMembership(Carol, Memberships.Leave).Joined(Bob);

        room.Check(room.Member(Carol, Bob, Memberships.Leave)).Rule.Should().Be(AuthRule.KickSenderNotJoined);
        room.WithMembership(Bob, Memberships.Ban);
        room.Check(room.Member(Carol, Bob, Memberships.Leave)).Rule.Should().Be(AuthRule.KickSenderNotJoined);
    }

    // ── ban ──────────────────────────────────────────────────────────────────────────────────────────────────────

    public static TheoryData<string?, string?, long, long, long, string> BanCases() => new()
    {
        // Carol's membership (sender), Bob's membership, Carol's level, Bob's level, ban level, rule
        { Memberships.Join, Memberships.Join, 50, 0, 50, AuthRule.BanAllowed },
        { Memberships.Join, null, 50, 0, 50, AuthRule.BanAllowed },
        { Memberships.Join, Memberships.Ban, 50, 0, 50, AuthRule.BanAllowed },
        { Memberships.Join, Memberships.Knock, 50, 0, 50, AuthRule.BanAllowed },
        { Memberships.Join, Memberships.Join, 49, 0, 50, AuthRule.BanPowerTooLow },
        { Memberships.Join, Memberships.Join, 50, 50, 50, AuthRule.BanTargetPowerTooHigh },
        { Memberships.Invite, Memberships.Join, 100, 0, 50, AuthRule.BanSenderNotJoined },
        { null, Memberships.Join, 100, 0, 50, AuthRule.BanSenderNotJoined },
    };

    [Theory]
    [MemberData(nameof(BanCases))]
    public void Ban(string? carol, string? bob, long carolLevel, long bobLevel, long ban, string rule)
    {
        var room = Created().WithPowerLevels(new JsonObject
        {
            ["users"] = new JsonObject { [Alice] = 100, [Carol] = carolLevel, [Bob] = bobLevel },
            ["ban"] = ban,
        });
        if (carol is not null) room.WithMembership(Carol, carol);
        if (bob is not null) room.WithMembership(Bob, bob);

        var decision = room.Check(room.Member(Carol, Bob, Memberships.Ban));

        decision.Rule.Should().Be(rule, decision.Explanation);
        decision.Allowed.Should().Be(rule == AuthRule.BanAllowed);
    }

    [Fact]
    public void Nobody_bans_themselves_without_the_power()
    {
        var room = Created().Joined(Bob);

        room.Check(room.Member(Bob, Bob, Memberships.Ban)).Rule.Should().Be(AuthRule.BanPowerTooLow);
        room.Check(room.Member(Alice, Alice, Memberships.Ban)).Rule.Should().Be(AuthRule.BanTargetPowerTooHigh,
            "a user's level is never below their own");
    }

    // ── knock ────────────────────────────────────────────────────────────────────────────────────────────────────

    public static TheoryData<string, string?, string?, string> KnockCases() => new()
    {
        // version, join rule, Bob's membership before, rule
        { "6", JoinRuleValues.Knock, null, AuthRule.MemberMembershipUnknown },
        { "7", JoinRuleValues.Knock, null, AuthRule.KnockAllowed },
        { "7", JoinRuleValues.Knock, Memberships.Leave, AuthRule.KnockAllowed },
        { "7", JoinRuleValues.Knock, Memberships.Knock, AuthRule.KnockAllowed },
        { "7", JoinRuleValues.Knock, Memberships.Invite, AuthRule.KnockAlreadyMember },
        { "7", JoinRuleValues.Knock, Memberships.Join, AuthRule.KnockAlreadyMember },
        { "7", JoinRuleValues.Knock, Memberships.Ban, AuthRule.KnockBanned },
        { "7", JoinRuleValues.Invite, null, AuthRule.KnockJoinRule },
        { "7", JoinRuleValues.Public, null, AuthRule.KnockJoinRule },
        { "7", null, null, AuthRule.KnockJoinRule },
        { "9", JoinRuleValues.KnockRestricted, null, AuthRule.KnockJoinRule },
        { "10", JoinRuleValues.KnockRestricted, null, AuthRule.KnockAllowed },
        { "10", JoinRuleValues.Restricted, null, AuthRule.KnockJoinRule },
        { "11", JoinRuleValues.KnockRestricted, Memberships.Ban, AuthRule.KnockBanned },
    };

    [Theory]
    [MemberData(nameof(KnockCases))]
    public void Knock(string version, string? joinRule, string? before, string rule)
    {
        var room = Created(V(version));
        if (joinRule is not null) room.WithJoinRule(joinRule);
        if (before is not null) room.WithMembership(Bob, before);

        var decision = room.Check(room.Member(Bob, Bob, Memberships.Knock));

        decision.Rule.Should().Be(rule, decision.Explanation);
        decision.Allowed.Should().Be(rule == AuthRule.KnockAllowed);
    }

    [Fact]
    public void Nobody_knocks_on_behalf_of_someone_else()
    {
        var room = Created(RoomVersion.V7).WithJoinRule(JoinRuleValues.Knock);

        room.Check(room.Member(Alice, Bob, Memberships.Knock)).Rule.Should().Be(AuthRule.KnockSenderNotTarget);
    }
}
