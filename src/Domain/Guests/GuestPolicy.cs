using Matrix.Rooms.Domain.Errors;
using Matrix.Rooms.Domain.Events;
using Matrix.Rooms.Domain.Visibility;

namespace Matrix.Rooms.Domain.Guests;

/// <summary>Values of <c>m.room.guest_access</c>'s <c>guest_access</c>.</summary>
public static class GuestAccessValues
{
    public const string CanJoin = "can_join";
    public const string Forbidden = "forbidden";

    /// <summary>
    /// Spec: "Servers MUST only allow guest users to join rooms if the <c>m.room.guest_access</c> state event is present
    /// on the room, and has the <c>guest_access</c> value <c>can_join</c>." Anything else (absent, <c>forbidden</c>,
    /// unknown, empty content after a revocation) means guests may not join.
    /// </summary>
    public static bool AllowsGuestsToJoin(string? guestAccess) => guestAccess == CanJoin;
}

/// <summary>
/// The guest authorizer (spec "Guest Access" module, with the 2015 seed's list kept): pure, and allocation-free — every
/// refusal is a <see cref="MatrixError"/> built once. A method returns <c>null</c> when the request may go on, or the
/// error to answer with (always <c>403 M_GUEST_ACCESS_FORBIDDEN</c>, whose spec meaning is "The room or resource does
/// not permit guests to access it"). These checks come on top of the room's authorization rules, never instead of them.
/// </summary>
public static class GuestPolicy
{
    private static readonly int EndpointCount = Enum.GetValues<ClientEndpoint>().Length;
    private static readonly GuestAccessCategory[] Categories = BuildCategories();
    private static readonly MatrixError?[] EndpointRefusals = BuildEndpointRefusals();

    private static readonly MatrixError UnknownEndpointRefusal =
        MatrixError.GuestAccessForbidden("Guest accounts may not use this endpoint.");

    private static readonly MatrixError ReadRefusal = MatrixError.GuestAccessForbidden(
        "Guest accounts may only read rooms they have joined, or rooms whose m.room.history_visibility is world_readable.");

    private static readonly MatrixError JoinRefusal = MatrixError.GuestAccessForbidden(
        "Guest accounts may only join rooms whose m.room.guest_access is can_join.");

    private static readonly MatrixError InviteRefusal = MatrixError.GuestAccessForbidden("Guest accounts cannot invite users.");
    private static readonly MatrixError BanRefusal = MatrixError.GuestAccessForbidden("Guest accounts cannot ban users.");
    private static readonly MatrixError KickRefusal = MatrixError.GuestAccessForbidden("Guest accounts cannot kick or unban users.");
    private static readonly MatrixError KnockRefusal = MatrixError.GuestAccessForbidden("Guest accounts cannot knock on rooms.");
    private static readonly MatrixError OtherMembershipRefusal =
        MatrixError.GuestAccessForbidden("Guest accounts may only join or leave rooms themselves.");

    /// <summary>Whether the spec lets a guest use <paramref name="endpoint"/> (endpoints without an access token count as allowed).</summary>
    public static bool IsGuestAllowed(ClientEndpoint endpoint) =>
        (uint)endpoint < (uint)EndpointCount && EndpointRefusals[(int)endpoint] is null;

    /// <summary>
    /// Spec: "[Guests] will only have access to a subset of the API". Null when the caller may use the endpoint, else
    /// <c>403 M_GUEST_ACCESS_FORBIDDEN</c> naming it. Callers that are not guests are never refused here.
    /// </summary>
    public static MatrixError? CheckEndpoint(ClientEndpoint endpoint, bool isGuest)
    {
        if (!isGuest) return null;
        return (uint)endpoint < (uint)EndpointCount ? EndpointRefusals[(int)endpoint] : UnknownEndpointRefusal;
    }

    /// <summary>As <see cref="CheckEndpoint"/>, as a yes/no.</summary>
    public static bool IsAllowed(ClientEndpoint endpoint, bool isGuest) => CheckEndpoint(endpoint, isGuest) is null;

    /// <summary>
    /// Reading a room (state, messages, context, event, members, initialSync, events). Seed: "These users are only
    /// allowed to make calls in relation to rooms which have the <c>m.room.history_visibility</c> event set to
    /// <c>world_readable</c>"; the current spec also lets guests join, so: a guest that is not joined (invited, left or
    /// never there) may read a room only while its history visibility is <c>world_readable</c>. Which events they then
    /// see is the history-visibility filter's business.
    /// </summary>
    public static MatrixError? CheckRoomRead(bool isGuest, MembershipState currentMembership, HistoryVisibility currentVisibility)
    {
        if (!isGuest) return null;
        if (currentMembership == MembershipState.Join) return null;
        return currentVisibility == HistoryVisibility.WorldReadable ? null : ReadRefusal;
    }

    /// <summary>As <see cref="CheckRoomRead(bool, MembershipState, HistoryVisibility)"/> from the content values.</summary>
    public static MatrixError? CheckRoomRead(bool isGuest, string? currentMembership, string? currentHistoryVisibility) =>
        CheckRoomRead(isGuest, MembershipStates.Parse(currentMembership), HistoryVisibilities.Parse(currentHistoryVisibility));

    /// <summary>
    /// Joining, or accepting an invite (which is a join). Spec: "Servers MUST only allow guest users to join rooms if the
    /// <c>m.room.guest_access</c> state event is present on the room, and has the <c>guest_access</c> value
    /// <c>can_join</c>." This does not override the join rule: the authorization rules still decide the join.
    /// </summary>
    public static MatrixError? CheckJoin(bool isGuest, string? currentGuestAccess) =>
        !isGuest || GuestAccessValues.AllowsGuestsToJoin(currentGuestAccess) ? null : JoinRefusal;

    /// <summary>
    /// Any membership change a guest asks for, whichever endpoint carries it (join, leave, invite, kick, ban, unban,
    /// knock, or <c>PUT /rooms/{roomId}/state/m.room.member/{userId}</c>, which guests may use since v1.2). A guest may
    /// join (per <see cref="CheckJoin"/>) and leave, and nothing else: guests cannot invite, kick, ban, unban or knock.
    /// </summary>
    public static MatrixError? CheckMembershipChange(bool isGuest, string sender, string target, string? membership,
        string? currentGuestAccess)
    {
        if (!isGuest) return null;
        var own = string.Equals(sender, target, StringComparison.Ordinal);
        return membership switch
        {
            Memberships.Join when own => CheckJoin(isGuest, currentGuestAccess),
            Memberships.Leave when own => null,
            Memberships.Invite => InviteRefusal,
            Memberships.Ban => BanRefusal,
            Memberships.Leave => KickRefusal,
            Memberships.Knock => KnockRefusal,
            _ => OtherMembershipRefusal,
        };
    }

    /// <summary>Which part of the guest list <paramref name="endpoint"/> is on.</summary>
    public static GuestAccessCategory CategoryOf(ClientEndpoint endpoint) =>
        (uint)endpoint < (uint)EndpointCount ? Categories[(int)endpoint] : GuestAccessCategory.NotForGuests;

    /// <summary>The endpoints a guest may use, in declaration order.</summary>
    public static IReadOnlyList<ClientEndpoint> GuestEndpoints { get; } =
        Enum.GetValues<ClientEndpoint>().Where(e => CategoryOf(e) is not GuestAccessCategory.NoAccessToken
                                                                   and not GuestAccessCategory.NotForGuests).ToArray();

    /// <summary>The method and path of an endpoint, e.g. <c>GET /rooms/{roomId}/state</c>.</summary>
    public static string Describe(ClientEndpoint endpoint) => endpoint switch
    {
        ClientEndpoint.GetVersions => "GET /versions",
        ClientEndpoint.Register => "POST /register",
        ClientEndpoint.Login => "POST /login",
        ClientEndpoint.GetRoomState => "GET /rooms/{roomId}/state",
        ClientEndpoint.GetRoomContext => "GET /rooms/{roomId}/context/{eventId}",
        ClientEndpoint.GetRoomEvent => "GET /rooms/{roomId}/event/{eventId}",
        ClientEndpoint.GetRoomStateEvent => "GET /rooms/{roomId}/state/{eventType}/{stateKey}",
        ClientEndpoint.GetRoomMessages => "GET /rooms/{roomId}/messages",
        ClientEndpoint.GetRoomMembers => "GET /rooms/{roomId}/members",
        ClientEndpoint.GetRoomInitialSync => "GET /rooms/{roomId}/initialSync",
        ClientEndpoint.Sync => "GET /sync",
        ClientEndpoint.GetEvents => "GET /events",
        ClientEndpoint.MediaDownload => "GET /media/download/{serverName}/{mediaId}",
        ClientEndpoint.MediaDownloadWithFileName => "GET /media/download/{serverName}/{mediaId}/{fileName}",
        ClientEndpoint.MediaThumbnail => "GET /media/thumbnail/{serverName}/{mediaId}",
        ClientEndpoint.JoinRoom => "POST /rooms/{roomId}/join",
        ClientEndpoint.LeaveRoom => "POST /rooms/{roomId}/leave",
        ClientEndpoint.SendEvent => "PUT /rooms/{roomId}/send/{eventType}/{txnId}",
        ClientEndpoint.SetRoomState => "PUT /rooms/{roomId}/state/{eventType}/{stateKey}",
        ClientEndpoint.SendToDevice => "PUT /sendToDevice/{eventType}/{txnId}",
        ClientEndpoint.SetDisplayName => "PUT /profile/{userId}/displayname",
        ClientEndpoint.GetDevices => "GET /devices",
        ClientEndpoint.GetDevice => "GET /devices/{deviceId}",
        ClientEndpoint.UpdateDevice => "PUT /devices/{deviceId}",
        ClientEndpoint.WhoAmI => "GET /account/whoami",
        ClientEndpoint.UploadKeys => "POST /keys/upload",
        ClientEndpoint.QueryKeys => "POST /keys/query",
        ClientEndpoint.ClaimKeys => "POST /keys/claim",
        ClientEndpoint.CreateRoom => "POST /createRoom",
        ClientEndpoint.Invite => "POST /rooms/{roomId}/invite",
        ClientEndpoint.Kick => "POST /rooms/{roomId}/kick",
        ClientEndpoint.Ban => "POST /rooms/{roomId}/ban",
        ClientEndpoint.Unban => "POST /rooms/{roomId}/unban",
        ClientEndpoint.JoinRoomByIdOrAlias => "POST /join/{roomIdOrAlias}",
        ClientEndpoint.Knock => "POST /knock/{roomIdOrAlias}",
        ClientEndpoint.ForgetRoom => "POST /rooms/{roomId}/forget",
        ClientEndpoint.GetJoinedMembers => "GET /rooms/{roomId}/joined_members",
        ClientEndpoint.GetJoinedRooms => "GET /joined_rooms",
        ClientEndpoint.Redact => "PUT /rooms/{roomId}/redact/{eventId}/{txnId}",
        ClientEndpoint.Typing => "PUT /rooms/{roomId}/typing/{userId}",
        ClientEndpoint.SendReceipt => "POST /rooms/{roomId}/receipt/{receiptType}/{eventId}",
        ClientEndpoint.SetReadMarkers => "POST /rooms/{roomId}/read_markers",
        ClientEndpoint.GetPresence => "GET /presence/{userId}/status",
        ClientEndpoint.SetPresence => "PUT /presence/{userId}/status",
        ClientEndpoint.SetAvatarUrl => "PUT /profile/{userId}/avatar_url",
        ClientEndpoint.AccountData => "/user/{userId}/account_data/{type}",
        ClientEndpoint.Filter => "/user/{userId}/filter",
        ClientEndpoint.PushRules => "/pushrules/",
        ClientEndpoint.DeleteDevice => "DELETE /devices/{deviceId}",
        ClientEndpoint.GetKeyChanges => "GET /keys/changes",
        ClientEndpoint.UploadMedia => "POST /media/v3/upload",
        ClientEndpoint.Search => "POST /search",
        ClientEndpoint.Logout => "POST /logout",
        ClientEndpoint.LogoutAll => "POST /logout/all",
        ClientEndpoint.GetCapabilities => "GET /capabilities",
        ClientEndpoint.DeleteProfileField => "DELETE /profile/{userId}/{keyName}",
        ClientEndpoint.SetRoomAlias => "PUT /directory/room/{roomAlias}",
        ClientEndpoint.DeleteRoomAlias => "DELETE /directory/room/{roomAlias}",
        ClientEndpoint.GetRoomAliases => "GET /rooms/{roomId}/aliases",
        ClientEndpoint.QueryPublicRooms => "POST /publicRooms",
        ClientEndpoint.SetRoomDirectoryVisibility => "PUT /directory/list/room/{roomId}",
        _ => endpoint.ToString(),
    };

    private static GuestAccessCategory[] BuildCategories()
    {
        var categories = new GuestAccessCategory[EndpointCount];
        foreach (var endpoint in Enum.GetValues<ClientEndpoint>())
            categories[(int)endpoint] = endpoint switch
            {
                ClientEndpoint.GetVersions or ClientEndpoint.Register or ClientEndpoint.Login =>
                    GuestAccessCategory.NoAccessToken,

                // "The following API endpoints are allowed to be accessed by guest accounts for retrieving events and
                // associated media" — with the seed's four (/rooms/{roomId}/messages, /rooms/{roomId}/state,
                // /rooms/{roomId}/state/{eventType}/{stateKey}, /events), which the current list already holds.
                ClientEndpoint.GetRoomState or ClientEndpoint.GetRoomContext or ClientEndpoint.GetRoomEvent
                    or ClientEndpoint.GetRoomStateEvent or ClientEndpoint.GetRoomMessages or ClientEndpoint.GetRoomMembers
                    or ClientEndpoint.GetRoomInitialSync or ClientEndpoint.Sync or ClientEndpoint.GetEvents
                    or ClientEndpoint.MediaDownload or ClientEndpoint.MediaDownloadWithFileName
                    or ClientEndpoint.MediaThumbnail => GuestAccessCategory.RetrievingEvents,

                // "… for sending events". POST /join/{roomIdOrAlias} too, deliberately beyond the list (as Synapse): it is
                // the same join as POST /rooms/{roomId}/join — still only where guest_access is can_join (CheckJoin) —
                // and matrix-js-sdk, matrix-nio and matrix-bot-sdk only ever join through it.
                ClientEndpoint.JoinRoom or ClientEndpoint.JoinRoomByIdOrAlias or ClientEndpoint.LeaveRoom or ClientEndpoint.SendEvent
                    or ClientEndpoint.SetRoomState or ClientEndpoint.SendToDevice => GuestAccessCategory.SendingEvents,

                // "… for their own account maintenance". GET /capabilities too, deliberately beyond the list (as Synapse):
                // it reveals nothing of the account, and matrix-js-sdk asks it at start-up, guest or not.
                ClientEndpoint.SetDisplayName or ClientEndpoint.GetDevices or ClientEndpoint.GetDevice
                    or ClientEndpoint.UpdateDevice or ClientEndpoint.WhoAmI or ClientEndpoint.GetCapabilities => GuestAccessCategory.AccountMaintenance,

                // "… for end-to-end encryption"
                ClientEndpoint.UploadKeys or ClientEndpoint.QueryKeys or ClientEndpoint.ClaimKeys =>
                    GuestAccessCategory.EndToEndEncryption,

                _ => GuestAccessCategory.NotForGuests,
            };
        return categories;
    }

    private static MatrixError?[] BuildEndpointRefusals()
    {
        var refusals = new MatrixError?[EndpointCount];
        foreach (var endpoint in Enum.GetValues<ClientEndpoint>())
            refusals[(int)endpoint] = Categories[(int)endpoint] == GuestAccessCategory.NotForGuests
                ? MatrixError.GuestAccessForbidden(
                    $"Guest accounts may not use {Describe(endpoint)}: it is not one of the endpoints the guest access module allows. Register a full account to use it.")
                : null;
        return refusals;
    }
}
