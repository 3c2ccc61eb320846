using Matrix.Rooms.Domain.Tests.Support;
using Matrix.Rooms.Domain.Events;
using Matrix.Rooms.Domain.Visibility;
using static Matrix.Rooms.Domain.Tests.Support.TestRoom;

namespace Matrix.Rooms.Domain.Tests.Visibility;

/// <summary>Whole rooms, filtered with <see cref="HistoryVisibilityFilter.VisibleEvents(IReadOnlyList{MatrixEvent}, string)"/>.</summary>
public class HistoryVisibilityScenarioTests
{
    [Fact]
    public void Shared_history_stops_at_a_kick_unlike_a_not_peeking_check()
    {
        var room = CreatedByAlice()
            .HistoryVisibility("hv", "shared")
            .Text("before_join")
            .Join("bob_join", Bob)
            .Text("while_joined")
            .Kick("bob_kick", Bob)
            .Text("after_kick")
            .Topic("topic_after_kick", "secret plans");

        room.VisibleTo(Bob).Should().Equal("create", "alice_join", "hv", "before_join", "bob_join", "while_joined", "bob_kick");
    }

    [Fact]
    public void A_user_who_left_sees_what_they_could_see_before_they_left_and_nothing_after()
    {
        // Spec: "After a user has left a room, they may see any events which they were allowed to see before they
        // left the room, but no events received after they left."
        var room = CreatedByAlice()
            .HistoryVisibility("hv", "joined")
            .Text("before_join")
            .Join("bob_join", Bob)
            .Text("while_joined")
            .Leave("bob_leave", Bob)
            .Text("after_leave");

        room.VisibleTo(Bob).Should().Equal("create", "alice_join", "hv", "bob_join", "while_joined", "bob_leave");
    }

    [Fact]
    public void Rejoining_under_shared_reveals_what_was_sent_while_away()
    {
        var room = CreatedByAlice()
            .Join("bob_join", Bob)
            .Leave("bob_leave", Bob)
            .Text("while_away")
            .Join("bob_rejoin", Bob)
            .Text("after_rejoin");

        room.VisibleTo(Bob).Should().Equal("create", "alice_join", "bob_join", "bob_leave", "while_away", "bob_rejoin", "after_rejoin");
    }

    [Fact]
    public void Rejoining_does_not_reveal_what_was_sent_while_away_under_joined()
    {
        var room = CreatedByAlice()
            .HistoryVisibility("hv", "joined")
            .Join("bob_join", Bob)
            .Leave("bob_leave", Bob)
            .Text("while_away")
            .Join("bob_rejoin", Bob)
            .Text("after_rejoin");

        room.VisibleTo(Bob).Should().Equal("create", "alice_join", "hv", "bob_join", "bob_leave", "bob_rejoin", "after_rejoin");
    }

    [Fact]
    public void Invited_visibility_covers_the_invite_period()
    {
        var room = CreatedByAlice()
            .HistoryVisibility("hv", "invited")
            .Text("before_invite")
            .Invite("bob_invite", Bob)
            .Text("while_invited")
            .Join("bob_join", Bob)
            .Text("while_joined");

        room.VisibleTo(Bob).Should().Equal("create", "alice_join", "hv", "bob_invite", "while_invited", "bob_join", "while_joined");
    }

    [Fact]
    public void A_peeking_user_sees_only_the_world_readable_stretch()
    {
        var room = CreatedByAlice()
            .Text("default_shared")
            .HistoryVisibility("to_world", "world_readable")
            .Text("public")
            .HistoryVisibility("to_joined", "joined")
            .Text("private")
            .HistoryVisibility("empty_content", null)
            .Text("shared_again");

        room.VisibleTo(Carol).Should().Equal("to_world", "public", "to_joined");
    }

    [Fact]
    public void Other_users_member_events_use_only_the_state_before_them()
    {
        var room = CreatedByAlice()
            .HistoryVisibility("hv", "joined")
            .Join("carol_join", Carol)
            .Join("bob_join", Bob)
            .Leave("carol_leave", Carol);

        // Carol's join came before Bob's; under joined Bob does not see it, and carol_leave is not "his own".
        room.VisibleTo(Bob).Should().Equal("create", "alice_join", "hv", "bob_join", "carol_leave");
    }

    [Fact]
    public void A_history_visibility_event_with_a_state_key_is_not_the_rooms_visibility()
    {
        var room = CreatedByAlice()
            .Add("not_room_hv", EventTypes.HistoryVisibility, Alice, "something",
                new System.Text.Json.Nodes.JsonObject { ["history_visibility"] = "world_readable" })
            .Text("m1");

        room.VisibleTo(Carol).Should().BeEmpty();
    }

    [Fact]
    public void Page_filter_over_projection_timelines_agrees_with_the_whole_timeline_filter()
    {
        var room = CreatedByAlice()
            .HistoryVisibility("hv1", "invited")
            .Text("hidden")
            .Invite("bob_invite", Bob)
            .Text("m1")
            .Leave("bob_reject", Bob)
            .HistoryVisibility("hv2", "world_readable")
            .Text("m2")
            .HistoryVisibility("hv3", "shared")
            .Join("bob_join", Bob)
            .Text("m3");

        // Positions as a projection might number them: sparse, not starting at zero.
        var page = room.Events.Select((e, i) => (Position: 1000L + 7 * i, Event: e)).ToList();
        var visibility = VisibilityValueTimeline.From(page
            .Where(p => HistoryVisibilityFilter.SubjectOf(p.Event, Bob) == VisibilitySubject.HistoryVisibilityChange)
            .Select(p => (p.Position, p.Event.ContentString("history_visibility"))));
        var membership = UserMembershipTimeline.From(page
            .Where(p => HistoryVisibilityFilter.SubjectOf(p.Event, Bob) == VisibilitySubject.OwnMembershipChange)
            .Select(p => (p.Position, p.Event.ContentString("membership"))));

        var fromPage = HistoryVisibilityFilter.VisibleEvents(page.Skip(3).Take(6), Bob, visibility, membership);
        var whole = HistoryVisibilityFilter.VisibleEvents(room.Events, Bob);

        fromPage.Should().Equal(whole.Where(e => room.Events.Skip(3).Take(6).Contains(e)));
        whole.Select(e => e.EventId).Should().Equal(
            "$create", "$alice_join", "$hv1", "$bob_invite", "$m1", "$bob_reject", "$hv2", "$m2", "$hv3", "$bob_join", "$m3");
    }
}
