using System.Text.Json.Nodes;
using Matrix.Rooms.Domain.Events;
using Matrix.Rooms.Domain.Guests;
using NodaTime;

namespace Matrix.Rooms.Domain.Tests.Guests;

public class GuestAccessWithdrawalTests
{
    private const string Room = "!room:example.org";
    private static readonly Instant Now = Instant.FromUtc(2024, 5, 1, 12, 0);

    private static readonly GuestMember[] Guests =
    [
        new("@guest3:example.org", Memberships.Join),
        new("@guest1:example.org", Memberships.Invite),
        new("@guest2:example.org", Memberships.Leave),
        new("@guest4:example.org", Memberships.Ban),
        new("@guest5:example.org", Memberships.Knock),
        new("@guest6:example.org", null),
    ];

    private static Func<string> Ids()
    {
        var n = 0;
        return () => $"$leave{++n}";
    }

    [Theory]
    [InlineData("can_join", "forbidden", true)]
    [InlineData("can_join", null, true)]
    [InlineData("can_join", "something_else", true)]
    [InlineData("forbidden", "forbidden", false)]
    [InlineData(null, "forbidden", false)]
    [InlineData("can_join", "can_join", false)]
    [InlineData("forbidden", "can_join", false)]
    public void Only_a_change_away_from_can_join_withdraws_guest_access(string? before, string? after, bool withdraws)
    {
        var change = new GuestAccessChange(Room, before, after);

        change.WithdrawsGuestAccess.Should().Be(withdraws);
        GuestAccessWithdrawal.Decide(change, Guests, Now).Should().HaveCount(withdraws ? 2 : 0);
    }

    [Fact]
    public void Joined_and_invited_guests_leave_by_themselves_in_user_id_order()
    {
        var events = GuestAccessWithdrawal.Decide(new GuestAccessChange(Room, "can_join", "forbidden"), Guests, Now, Ids());

        events.Select(e => (e.EventId, e.Sender, e.StateKey, e.Membership)).Should().Equal(
            ("$leave1", "@guest1:example.org", "@guest1:example.org", "leave"),
            ("$leave2", "@guest3:example.org", "@guest3:example.org", "leave"));
        events.Should().OnlyContain(e => e.RoomId == Room && e.Type == EventTypes.Member && e.OriginServerTs == Now
                                         && e.IsGuest && e.ContentString("reason") == GuestAccessWithdrawal.Reason);
    }

    [Fact]
    public void The_change_can_be_read_off_the_appended_event()
    {
        var appended = (GuestAccessEvent)MatrixEvent.Create(EventTypes.GuestAccess, Room, "@alice:example.org", "",
            new JsonObject { ["guest_access"] = "forbidden" }, Now);

        var change = GuestAccessChange.Of(appended, before: "can_join");

        change.Should().Be(new GuestAccessChange(Room, "can_join", "forbidden"));
        change.WithdrawsGuestAccess.Should().BeTrue();
    }

    [Fact]
    public void A_guest_listed_twice_leaves_once()
    {
        var events = GuestAccessWithdrawal.Decide(new GuestAccessChange(Room, "can_join", "forbidden"),
            [new("@g:example.org", Memberships.Join), new("@g:example.org", Memberships.Join)], Now);

        events.Should().ContainSingle();
    }

    [Fact]
    public void The_leave_events_round_trip_as_Matrix_JSON()
    {
        var leave = GuestAccessWithdrawal.Decide(new GuestAccessChange(Room, "can_join", "forbidden"),
            [new("@g:example.org", Memberships.Join)], Now).Single();

        var json = leave.ToJson();
        json["content"]!["membership"]!.GetValue<string>().Should().Be("leave");
        json["state_key"]!.GetValue<string>().Should().Be("@g:example.org");
        MatrixEvent.FromJson(json).Should().BeOfType<MemberEvent>().Which.Membership.Should().Be("leave");
    }
}
