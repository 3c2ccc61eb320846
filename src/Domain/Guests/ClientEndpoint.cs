namespace Matrix.Rooms.Domain.Guests;

/// <summary>
/// The client-server endpoints the Host serves (and a few it may serve later), as the guest policy sees them. Paths are
/// relative to <c>/_matrix/client/{version}</c> (<c>/_matrix/client/v1</c> for media). The seed's
/// <c>POST /_matrix/client/api/v1/rooms/{roomId}/invite</c> is <see cref="Invite"/>.
/// </summary>
public enum ClientEndpoint : byte
{
    // ── Endpoints that take no access token: there is no guest to refuse ──────────────────────────────────────────
    /// <summary><c>GET /_matrix/client/versions</c></summary>
    GetVersions,
    /// <summary><c>POST /register</c> (also <c>?kind=guest</c>, and the guest's upgrade with <c>guest_access_token</c> in the body)</summary>
    Register,
    /// <summary><c>POST /login</c> and <c>GET /login</c></summary>
    Login,

    // ── Spec guest list: "for retrieving events and associated media" ────────────────────────────────────────────
    /// <summary><c>GET /rooms/{roomId}/state</c> (also in the 2015 seed's list)</summary>
    GetRoomState,
    /// <summary><c>GET /rooms/{roomId}/context/{eventId}</c></summary>
    GetRoomContext,
    /// <summary><c>GET /rooms/{roomId}/event/{eventId}</c></summary>
    GetRoomEvent,
    /// <summary><c>GET /rooms/{roomId}/state/{eventType}/{stateKey}</c> (also in the seed's list)</summary>
    GetRoomStateEvent,
    /// <summary><c>GET /rooms/{roomId}/messages</c> (also in the seed's list)</summary>
    GetRoomMessages,
    /// <summary><c>GET /rooms/{roomId}/members</c> (guest list since v1.1)</summary>
    GetRoomMembers,
    /// <summary><c>GET /rooms/{roomId}/initialSync</c></summary>
    GetRoomInitialSync,
    /// <summary><c>GET /sync</c></summary>
    Sync,
    /// <summary><c>GET /events</c>, as used for room previews (also in the seed's list)</summary>
    GetEvents,
    /// <summary><c>GET /media/download/{serverName}/{mediaId}</c> (v1.12)</summary>
    MediaDownload,
    /// <summary><c>GET /media/download/{serverName}/{mediaId}/{fileName}</c> (v1.12)</summary>
    MediaDownloadWithFileName,
    /// <summary><c>GET /media/thumbnail/{serverName}/{mediaId}</c> (v1.12)</summary>
    MediaThumbnail,

    // ── Spec guest list: "for sending events" ────────────────────────────────────────────────────────────────────
    /// <summary><c>POST /rooms/{roomId}/join</c> (only where <c>m.room.guest_access</c> is <c>can_join</c>)</summary>
    JoinRoom,
    /// <summary><c>POST /rooms/{roomId}/leave</c></summary>
    LeaveRoom,
    /// <summary><c>PUT /rooms/{roomId}/send/{eventType}/{txnId}</c> (any event type since v1.2)</summary>
    SendEvent,
    /// <summary><c>PUT /rooms/{roomId}/state/{eventType}/{stateKey}</c> (guest list since v1.2)</summary>
    SetRoomState,
    /// <summary><c>PUT /sendToDevice/{eventType}/{txnId}</c></summary>
    SendToDevice,

    // ── Spec guest list: "for their own account maintenance" ─────────────────────────────────────────────────────
    /// <summary><c>PUT /profile/{userId}/displayname</c></summary>
    SetDisplayName,
    /// <summary><c>GET /devices</c></summary>
    GetDevices,
    /// <summary><c>GET /devices/{deviceId}</c></summary>
    GetDevice,
    /// <summary><c>PUT /devices/{deviceId}</c></summary>
    UpdateDevice,
    /// <summary><c>GET /account/whoami</c> (guest list since v1.2)</summary>
    WhoAmI,

    // ── Spec guest list: "for end-to-end encryption" ─────────────────────────────────────────────────────────────
    /// <summary><c>POST /keys/upload</c></summary>
    UploadKeys,
    /// <summary><c>POST /keys/query</c></summary>
    QueryKeys,
    /// <summary><c>POST /keys/claim</c></summary>
    ClaimKeys,

    // ── Not on the guest list: a guest token gets 403 M_GUEST_ACCESS_FORBIDDEN ─────────────────────────────────────
    /// <summary><c>POST /createRoom</c></summary>
    CreateRoom,
    /// <summary><c>POST /rooms/{roomId}/invite</c>, by user ID or third-party ID, v3 and the seed's <c>api/v1</c> form</summary>
    Invite,
    /// <summary><c>POST /rooms/{roomId}/kick</c></summary>
    Kick,
    /// <summary><c>POST /rooms/{roomId}/ban</c></summary>
    Ban,
    /// <summary><c>POST /rooms/{roomId}/unban</c></summary>
    Unban,
    /// <summary><c>POST /join/{roomIdOrAlias}</c>: open to guests like <see cref="JoinRoom"/>, deliberately (the spec lists only <c>POST /rooms/{roomId}/join</c>)</summary>
    JoinRoomByIdOrAlias,
    /// <summary><c>POST /knock/{roomIdOrAlias}</c></summary>
    Knock,
    /// <summary><c>POST /rooms/{roomId}/forget</c></summary>
    ForgetRoom,
    /// <summary><c>GET /rooms/{roomId}/joined_members</c></summary>
    GetJoinedMembers,
    /// <summary><c>GET /joined_rooms</c></summary>
    GetJoinedRooms,
    /// <summary><c>PUT /rooms/{roomId}/redact/{eventId}/{txnId}</c></summary>
    Redact,
    /// <summary><c>PUT /rooms/{roomId}/typing/{userId}</c></summary>
    Typing,
    /// <summary><c>POST /rooms/{roomId}/receipt/{receiptType}/{eventId}</c></summary>
    SendReceipt,
    /// <summary><c>POST /rooms/{roomId}/read_markers</c></summary>
    SetReadMarkers,
    /// <summary><c>GET /presence/{userId}/status</c></summary>
    GetPresence,
    /// <summary><c>PUT /presence/{userId}/status</c></summary>
    SetPresence,
    /// <summary><c>PUT /profile/{userId}/avatar_url</c></summary>
    SetAvatarUrl,
    /// <summary><c>GET</c> or <c>PUT /user/{userId}/account_data/{type}</c> and the per-room form</summary>
    AccountData,
    /// <summary><c>POST /user/{userId}/filter</c> and <c>GET /user/{userId}/filter/{filterId}</c></summary>
    Filter,
    /// <summary><c>GET</c>, <c>PUT</c> or <c>DELETE /pushrules/…</c></summary>
    PushRules,
    /// <summary><c>DELETE /devices/{deviceId}</c> and <c>POST /delete_devices</c></summary>
    DeleteDevice,
    /// <summary><c>GET /keys/changes</c></summary>
    GetKeyChanges,
    /// <summary><c>POST /media/v3/upload</c> and <c>PUT /media/v3/upload/{serverName}/{mediaId}</c></summary>
    UploadMedia,
    /// <summary><c>POST /search</c></summary>
    Search,
    /// <summary><c>POST /logout</c></summary>
    Logout,
    /// <summary><c>POST /logout/all</c></summary>
    LogoutAll,
    /// <summary><c>GET /capabilities</c>: open to guests, deliberately (not on the spec's list; Synapse allows it, matrix-js-sdk calls it at start-up)</summary>
    GetCapabilities,
    /// <summary><c>DELETE /profile/{userId}/displayname</c> or <c>…/avatar_url</c></summary>
    DeleteProfileField,
    /// <summary><c>PUT /directory/room/{roomAlias}</c></summary>
    SetRoomAlias,
    /// <summary><c>DELETE /directory/room/{roomAlias}</c></summary>
    DeleteRoomAlias,
    /// <summary><c>GET /rooms/{roomId}/aliases</c></summary>
    GetRoomAliases,
    /// <summary><c>POST /publicRooms</c></summary>
    QueryPublicRooms,
    /// <summary><c>PUT /directory/list/room/{roomId}</c></summary>
    SetRoomDirectoryVisibility,
}

/// <summary>Which part of the spec's guest list (if any) an endpoint belongs to.</summary>
public enum GuestAccessCategory : byte
{
    /// <summary>The endpoint takes no access token, so the guest policy does not apply.</summary>
    NoAccessToken,
    /// <summary>"allowed to be accessed by guest accounts for retrieving events and associated media"</summary>
    RetrievingEvents,
    /// <summary>"allowed to be accessed by guest accounts for sending events"</summary>
    SendingEvents,
    /// <summary>"allowed to be accessed by guest accounts for their own account maintenance"</summary>
    AccountMaintenance,
    /// <summary>"allowed to be accessed by guest accounts for end-to-end encryption"</summary>
    EndToEndEncryption,
    /// <summary>Not on the list: refused to guests.</summary>
    NotForGuests,
}
