using Matrix.Rooms.Domain.Events;
using Matrix.Rooms.Domain.Guests;
using Matrix.Rooms.Domain.Visibility;

namespace Matrix.Rooms.Domain.Tests.Guests;

public class GuestPolicyTests
{
    private const string Guest = "@guest1:example.org";
    private const string Other = "@alice:example.org";

    /// <summary>The spec's "Guest Access" client-behaviour list (v1.12+), and the 2015 seed's four, which it contains.</summary>
    public static TheoryData<ClientEndpoint, string> SpecGuestList => new()
    {
        // for retrieving events and associated media
        { ClientEndpoint.GetRoomState, "GET /rooms/{roomId}/state" },
        { ClientEndpoint.GetRoomContext, "GET /rooms/{roomId}/context/{eventId}" },
        { ClientEndpoint.GetRoomEvent, "GET /rooms/{roomId}/event/{eventId}" },
        { ClientEndpoint.GetRoomStateEvent, "GET /rooms/{roomId}/state/{eventType}/{stateKey}" },
        { ClientEndpoint.GetRoomMessages, "GET /rooms/{roomId}/messages" },
        { ClientEndpoint.GetRoomMembers, "GET /rooms/{roomId}/members" },
        { ClientEndpoint.GetRoomInitialSync, "GET /rooms/{roomId}/initialSync" },
        { ClientEndpoint.Sync, "GET /sync" },
        { ClientEndpoint.GetEvents, "GET /events" },
        { ClientEndpoint.MediaDownload, "GET /media/download/{serverName}/{mediaId}" },
        { ClientEndpoint.MediaDownloadWithFileName, "GET /media/download/{serverName}/{mediaId}/{fileName}" },
        { ClientEndpoint.MediaThumbnail, "GET /media/thumbnail/{serverName}/{mediaId}" },
        // for sending events
        { ClientEndpoint.JoinRoom, "POST /rooms/{roomId}/join" },
        { ClientEndpoint.LeaveRoom, "POST /rooms/{roomId}/leave" },
        { ClientEndpoint.SendEvent, "PUT /rooms/{roomId}/send/{eventType}/{txnId}" },
        { ClientEndpoint.SetRoomState, "PUT /rooms/{roomId}/state/{eventType}/{stateKey}" },
        { ClientEndpoint.SendToDevice, "PUT /sendToDevice/{eventType}/{txnId}" },
        // for their own account maintenance
        { ClientEndpoint.SetDisplayName, "PUT /profile/{userId}/displayname" },
        { ClientEndpoint.GetDevices, "GET /devices" },
        { ClientEndpoint.GetDevice, "GET /devices/{deviceId}" },
        { ClientEndpoint.UpdateDevice, "PUT /devices/{deviceId}" },
        { ClientEndpoint.WhoAmI, "GET /account/whoami" },
        // for end-to-end encryption
        { ClientEndpoint.UploadKeys, "POST /keys/upload" },
        { ClientEndpoint.QueryKeys, "POST /keys/query" },
        { ClientEndpoint.ClaimKeys, "POST /keys/claim" },
    };

    public static TheoryData<ClientEndpoint> NotForGuests => new()
    {
        ClientEndpoint.CreateRoom, ClientEndpoint.Invite, ClientEndpoint.Kick, ClientEndpoint.Ban, ClientEndpoint.Unban,
        ClientEndpoint.Knock, ClientEndpoint.ForgetRoom, ClientEndpoint.GetJoinedMembers,
        ClientEndpoint.GetJoinedRooms, ClientEndpoint.Redact, ClientEndpoint.Typing, ClientEndpoint.SendReceipt,
        ClientEndpoint.SetReadMarkers, ClientEndpoint.GetPresence, ClientEndpoint.SetPresence, ClientEndpoint.SetAvatarUrl,
        ClientEndpoint.AccountData, ClientEndpoint.PushRules, ClientEndpoint.DeleteDevice, ClientEndpoint.GetKeyChanges,
        ClientEndpoint.UploadMedia, ClientEndpoint.Search, ClientEndpoint.Logout, ClientEndpoint.LogoutAll,
        ClientEndpoint.DeleteProfileField,
    };

    [Theory]
    [MemberData(nameof(SpecGuestList))]
    public void Every_endpoint_on_the_spec_list_is_open_to_guests(ClientEndpoint endpoint, string path)
    {
        GuestPolicy.Describe(endpoint).Should().Be(path);
        GuestPolicy.CheckEndpoint(endpoint, isGuest: true).Should().BeNull();
        GuestPolicy.IsGuestAllowed(endpoint).Should().BeTrue();
        GuestPolicy.GuestEndpoints.Should().Contain(endpoint);
    }

    [Theory]
    [InlineData(ClientEndpoint.GetRoomMessages)]
    [InlineData(ClientEndpoint.GetRoomState)]
    [InlineData(ClientEndpoint.GetRoomStateEvent)]
    [InlineData(ClientEndpoint.GetEvents)]
    public void The_seeds_four_endpoints_stay_open_to_guests(ClientEndpoint endpoint) =>
        GuestPolicy.IsAllowed(endpoint, isGuest: true).Should().BeTrue();

    [Theory]
    [MemberData(nameof(NotForGuests))]
    public void Endpoints_off_the_list_refuse_guests_with_M_GUEST_ACCESS_FORBIDDEN(ClientEndpoint endpoint)
    {
        var error = GuestPolicy.CheckEndpoint(endpoint, isGuest: true);

        error.Should().NotBeNull();
        error!.Status.Should().Be(403);
        error.ErrCode.Should().Be("M_GUEST_ACCESS_FORBIDDEN");
        error.Error.Should().Contain(GuestPolicy.Describe(endpoint));
        GuestPolicy.CategoryOf(endpoint).Should().Be(GuestAccessCategory.NotForGuests);
    }

    [Fact]
    public void The_guest_list_is_the_spec_list_and_the_deliberate_additions()
    {
        // POST /join/{roomIdOrAlias} is the same join as POST /rooms/{roomId}/join (still only where can_join); GET /capabilities
        // is asked by matrix-js-sdk at start-up: docs/guest-access-and-visibility.md.
        GuestPolicy.GuestEndpoints.Should().BeEquivalentTo(SpecGuestList.Select(row => (ClientEndpoint)row[0])
            .Append(ClientEndpoint.JoinRoomByIdOrAlias).Append(ClientEndpoint.GetCapabilities));
        Enum.GetValues<ClientEndpoint>().Should().OnlyContain(e =>
            GuestPolicy.GuestEndpoints.Contains(e)
            || GuestPolicy.CategoryOf(e) == GuestAccessCategory.NoAccessToken
            || GuestPolicy.CategoryOf(e) == GuestAccessCategory.NotForGuests);
    }

    [Theory]
    [InlineData(ClientEndpoint.GetVersions)]
    [InlineData(ClientEndpoint.Register)]
    [InlineData(ClientEndpoint.Login)]
    public void Endpoints_without_an_access_token_are_not_the_guest_policys_business(ClientEndpoint endpoint)
    {
        GuestPolicy.CategoryOf(endpoint).Should().Be(GuestAccessCategory.NoAccessToken);
        GuestPolicy.IsAllowed(endpoint, isGuest: true).Should().BeTrue();
    }

    [Fact]
    public void Full_accounts_are_never_refused()
    {
        foreach (var endpoint in Enum.GetValues<ClientEndpoint>())
            GuestPolicy.CheckEndpoint(endpoint, isGuest: false).Should().BeNull();
        GuestPolicy.CheckRoomRead(false, MembershipState.None, HistoryVisibility.Joined).Should().BeNull();
        GuestPolicy.CheckJoin(false, null).Should().BeNull();
        GuestPolicy.CheckMembershipChange(false, Other, Guest, Memberships.Ban, null).Should().BeNull();
    }

    [Fact]
    public void An_unknown_endpoint_value_is_refused_to_guests() =>
        GuestPolicy.CheckEndpoint((ClientEndpoint)250, isGuest: true)!.ErrCode.Should().Be("M_GUEST_ACCESS_FORBIDDEN");

    [Theory]
    [InlineData(MembershipState.Join, HistoryVisibility.Joined, true)]
    [InlineData(MembershipState.Join, HistoryVisibility.Shared, true)]
    [InlineData(MembershipState.None, HistoryVisibility.WorldReadable, true)]
    [InlineData(MembershipState.Leave, HistoryVisibility.WorldReadable, true)]
    [InlineData(MembershipState.Invite, HistoryVisibility.WorldReadable, true)]
    [InlineData(MembershipState.None, HistoryVisibility.Shared, false)]
    [InlineData(MembershipState.Invite, HistoryVisibility.Invited, false)]
    [InlineData(MembershipState.Leave, HistoryVisibility.Shared, false)]
    [InlineData(MembershipState.Ban, HistoryVisibility.Joined, false)]
    public void A_guest_not_joined_reads_only_world_readable_rooms(MembershipState membership, HistoryVisibility visibility, bool allowed)
    {
        var error = GuestPolicy.CheckRoomRead(isGuest: true, membership, visibility);
        (error is null).Should().Be(allowed);
        if (error is not null) error.ErrCode.Should().Be("M_GUEST_ACCESS_FORBIDDEN");
    }

    [Fact]
    public void Room_read_check_reads_content_values_as_the_spec_says()
    {
        GuestPolicy.CheckRoomRead(true, (string?)null, "world_readable").Should().BeNull();
        GuestPolicy.CheckRoomRead(true, (string?)null, null).Should().NotBeNull("missing visibility is shared");
        GuestPolicy.CheckRoomRead(true, "join", "joined").Should().BeNull();
    }

    [Theory]
    [InlineData("can_join", true)]
    [InlineData("forbidden", false)]
    [InlineData(null, false)]
    [InlineData("", false)]
    [InlineData("CAN_JOIN", false)]
    public void A_guest_joins_only_where_guest_access_is_can_join(string? guestAccess, bool allowed)
    {
        (GuestPolicy.CheckJoin(isGuest: true, guestAccess) is null).Should().Be(allowed);
        (GuestPolicy.CheckMembershipChange(true, Guest, Guest, Memberships.Join, guestAccess) is null).Should().Be(allowed);
    }

    [Theory]
    [InlineData(Guest, Memberships.Leave, "can_join", true)]
    [InlineData(Guest, Memberships.Leave, "forbidden", true)]
    [InlineData(Other, Memberships.Invite, "can_join", false)]
    [InlineData(Other, Memberships.Ban, "can_join", false)]
    [InlineData(Other, Memberships.Leave, "can_join", false)]
    [InlineData(Guest, Memberships.Knock, "can_join", false)]
    [InlineData(Guest, Memberships.Invite, "can_join", false)]
    [InlineData(Other, Memberships.Join, "can_join", false)]
    [InlineData(Guest, "custom", "can_join", false)]
    public void Guests_join_and_leave_themselves_and_nothing_more(string target, string membership, string guestAccess, bool allowed)
    {
        var error = GuestPolicy.CheckMembershipChange(isGuest: true, sender: Guest, target, membership, guestAccess);
        (error is null).Should().Be(allowed);
        if (error is not null)
        {
            error.Status.Should().Be(403);
            error.ErrCode.Should().Be("M_GUEST_ACCESS_FORBIDDEN");
        }
    }

    [Fact]
    public void Refusals_say_what_was_refused()
    {
        GuestPolicy.CheckMembershipChange(true, Guest, Other, Memberships.Invite, "can_join")!.Error.Should().Contain("invite");
        GuestPolicy.CheckMembershipChange(true, Guest, Other, Memberships.Ban, "can_join")!.Error.Should().Contain("ban");
        GuestPolicy.CheckMembershipChange(true, Guest, Other, Memberships.Leave, "can_join")!.Error.Should().Contain("kick");
        GuestPolicy.CheckJoin(true, "forbidden")!.Error.Should().Contain("can_join");
        GuestPolicy.CheckRoomRead(true, MembershipState.None, HistoryVisibility.Shared)!.Error.Should().Contain("world_readable");
    }

    [Fact]
    public void Deciding_allocates_nothing()
    {
        var endpoints = Enum.GetValues<ClientEndpoint>();
        var refused = 0;
        foreach (var e in endpoints) if (GuestPolicy.CheckEndpoint(e, true) is not null) refused++; // warm up

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 100_000; i++)
        {
            if (GuestPolicy.CheckEndpoint(endpoints[i % endpoints.Length], (i & 1) == 0) is not null) refused++;
            if (GuestPolicy.CheckRoomRead(true, MembershipState.Leave, HistoryVisibility.Shared) is not null) refused++;
            if (GuestPolicy.CheckMembershipChange(true, Guest, Other, Memberships.Invite, "can_join") is not null) refused++;
        }
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        refused.Should().BeGreaterThan(0);
        allocated.Should().Be(0);
    }
}
