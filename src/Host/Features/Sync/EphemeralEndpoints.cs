using System.Text.Json.Nodes;
using Marten;
using Matrix.Rooms.Domain.Errors;
using Matrix.Rooms.Domain.Events;
using Matrix.Rooms.Domain.Guests;
using Matrix.Rooms.Host.Features.Accounts;
using Matrix.Rooms.Host.Features.Guests;
using Matrix.Rooms.Host.Features.Rooms;
using Matrix.Rooms.Host.Infrastructure.Http;
using Matrix.Rooms.Host.Infrastructure.Sharding;
using Matrix.Rooms.Projections.Documents;
using Matrix.Rooms.Web;

namespace Matrix.Rooms.Host.Features.Sync;

/// <summary>
/// What clients write that only <c>/sync</c> returns: account data (spec "Client Config"), typing notices, receipts,
/// read markers, and filters. None of it is room history: it goes to the <see cref="EphemeralStream"/>.
/// </summary>
public static class EphemeralEndpoints
{
    /// <summary>Account data types the server manages itself (spec: <c>405 M_BAD_JSON</c> when a client sets them here).</summary>
    private static readonly string[] ServerManagedTypes = ["m.fully_read", "m.push_rules"];

    private static readonly string[] ReceiptTypes = ["m.read", "m.read.private", "m.fully_read"];

    public static void MapSyncInputs(this IEndpointRouteBuilder api)
    {
        api.MapGet("/user/{userId}/account_data/{type}", (Caller caller, string userId, string type, IQuerySession session, CancellationToken ct) =>
            GetAccountData(caller, userId, "", type, session, ct)).For(ClientEndpoint.AccountData);
        api.MapPut("/user/{userId}/account_data/{type}", (HttpContext http, Caller caller, string userId, string type, EphemeralStream stream, CancellationToken ct) =>
            PutAccountData(http, caller, userId, "", type, stream, ct)).For(ClientEndpoint.AccountData);
        api.MapGet("/user/{userId}/rooms/{roomId}/account_data/{type}", (Caller caller, string userId, string roomId, string type, IQuerySession session, CancellationToken ct) =>
            GetAccountData(caller, userId, roomId, type, session, ct)).For(ClientEndpoint.AccountData);
        api.MapPut("/user/{userId}/rooms/{roomId}/account_data/{type}", (HttpContext http, Caller caller, string userId, string roomId, string type,
            EphemeralStream stream, CancellationToken ct) => PutAccountData(http, caller, userId, roomId, type, stream, ct)).For(ClientEndpoint.AccountData);
        api.MapPut("/rooms/{roomId}/typing/{userId}", Typing).For(ClientEndpoint.Typing);
        api.MapPost("/rooms/{roomId}/receipt/{receiptType}/{eventId}", Receipt).For(ClientEndpoint.SendReceipt);
        api.MapPost("/rooms/{roomId}/read_markers", ReadMarkers).For(ClientEndpoint.SetReadMarkers);
        api.MapPost("/user/{userId}/filter", CreateFilter).For(ClientEndpoint.Filter);
        api.MapGet("/user/{userId}/filter/{filterId}", GetFilter).For(ClientEndpoint.Filter);
    }

    private static void RequireSelf(Caller caller, string userId, string what)
    {
        if (userId != caller.UserId) throw new MatrixException(MatrixError.Forbidden($"Cannot {what} for other users"));
    }

    private static async Task<IResult> GetAccountData(Caller caller, string userId, string roomId, string type, IQuerySession session, CancellationToken ct)
    {
        RequireSelf(caller, userId, "read account data");
        if (roomId.Length > 0) RoomEndpoints.ValidateRoomId(roomId);
        var entry = await session.LoadAsync<EphemeralEntry>(EphemeralEntry.AccountDataId(userId, roomId, type), ct);
        return entry is null
            ? MatrixHttp.Error(MatrixError.NotFound($"No account data of type {type}"))
            : MatrixHttp.Ok(entry.Content.DeepClone());
    }

    private static async Task<IResult> PutAccountData(HttpContext http, Caller caller, string userId, string roomId, string type, EphemeralStream stream,
        CancellationToken ct)
    {
        RequireSelf(caller, userId, "add account data");
        if (roomId.Length > 0) RoomEndpoints.ValidateRoomId(roomId);
        if (ServerManagedTypes.Contains(type))
            return MatrixHttp.Error(new MatrixError(405, "M_BAD_JSON", $"Cannot set {type} through this API: the server manages it"));
        if (type.Length is 0 or > 255) return MatrixHttp.Error(MatrixError.InvalidParam("The account data type must be 1 to 255 characters"));
        var content = await http.Request.ReadObjectAsync(ct);
        await stream.SetAccountDataAsync(userId, roomId, type, content, ct);
        return MatrixHttp.Ok(new JsonObject());
    }

    /// <summary>Typing, receipts and read markers need the caller joined to the room (what a server lets others see).</summary>
    private static async Task RequireJoinedAsync(IQuerySession session, string roomId, Caller caller, CancellationToken ct)
    {
        RoomEndpoints.ValidateRoomId(roomId);
        var member = await session.LoadAsync<RoomMember>(RoomMember.IdFor(roomId, caller.UserId), ct);
        if (member?.Membership != Memberships.Join)
            throw new MatrixException(MatrixError.Forbidden($"{caller.UserId} is not joined to room {roomId}"));
    }

    private static async Task<IResult> Typing(HttpContext http, Caller caller, string roomId, string userId, IQuerySession session, EphemeralStream stream,
        CancellationToken ct)
    {
        RequireSelf(caller, userId, "set typing notices");
        var body = await http.Request.ReadObjectAsync(ct);
        var typing = body.OptionalBool("typing") ?? throw new MatrixException(MatrixError.MissingParam("typing"));
        var timeout = body["timeout"] switch
        {
            null => 30_000L,
            JsonValue v when v.TryGetValue<long>(out var ms) && ms >= 0 => Math.Min(ms, 120_000),
            _ => throw new MatrixException(MatrixError.BadJson("'timeout' must be a non-negative integer (milliseconds)")),
        };
        await RequireJoinedAsync(http.RoomSession(roomId), roomId, caller, ct);
        await stream.SetTypingAsync(roomId, userId, typing, TimeSpan.FromMilliseconds(timeout), ct);
        return MatrixHttp.Ok(new JsonObject());
    }

    private static async Task<IResult> Receipt(HttpContext http, Caller caller, string roomId, string receiptType, string eventId, IQuerySession session,
        EphemeralStream stream, CancellationToken ct)
    {
        if (!ReceiptTypes.Contains(receiptType))
            return MatrixHttp.Error(MatrixError.InvalidParam($"Unknown receipt type {receiptType}: expected one of {string.Join(", ", ReceiptTypes)}"));
        var body = await http.Request.ReadObjectAsync(ct);
        var threadId = body.OptionalString("thread_id") ?? "";
        if (receiptType == "m.fully_read" && threadId.Length > 0)
            return MatrixHttp.Error(MatrixError.InvalidParam("m.fully_read markers cannot be threaded"));
        await RequireJoinedAsync(http.RoomSession(roomId), roomId, caller, ct);
        await RequireEventAsync(http.RoomSession(roomId), roomId, eventId, ct);
        await MarkAsync(stream, roomId, caller.UserId, receiptType, eventId, threadId, ct);
        return MatrixHttp.Ok(new JsonObject());
    }

    private static async Task<IResult> ReadMarkers(HttpContext http, Caller caller, string roomId, IQuerySession session, EphemeralStream stream, CancellationToken ct)
    {
        var body = await http.Request.ReadObjectAsync(ct);
        var markers = ReceiptTypes.Select(t => (Type: t, EventId: body.OptionalString(t))).Where(m => m.EventId is not null).ToList();
        await RequireJoinedAsync(http.RoomSession(roomId), roomId, caller, ct);
        foreach (var (_, eventId) in markers) await RequireEventAsync(http.RoomSession(roomId), roomId, eventId!, ct);
        foreach (var (type, eventId) in markers) await MarkAsync(stream, roomId, caller.UserId, type, eventId!, "", ct);
        return MatrixHttp.Ok(new JsonObject());
    }

    private static async Task RequireEventAsync(IQuerySession session, string roomId, string eventId, CancellationToken ct)
    {
        var location = JsonInputPolicy.StringProblem(eventId, "eventId") is null ? await session.LoadAsync<RoomEventLocation>(eventId, ct) : null;
        if (location?.RoomId != roomId) throw new MatrixException(MatrixError.NotFound($"Event {eventId} not found in room {roomId}"));
    }

    /// <summary><c>m.fully_read</c> is the room's account data (spec "Fully read markers"); the others are receipts.</summary>
    private static Task MarkAsync(EphemeralStream stream, string roomId, string userId, string type, string eventId, string threadId, CancellationToken ct) =>
        type == "m.fully_read"
            ? stream.SetAccountDataAsync(userId, roomId, "m.fully_read", new JsonObject { ["event_id"] = eventId }, ct)
            : stream.SetReceiptAsync(roomId, userId, type, eventId, threadId, ct);

    private static async Task<IResult> CreateFilter(HttpContext http, Caller caller, string userId, IDocumentStore store, CancellationToken ct)
    {
        RequireSelf(caller, userId, "create filters");
        var definition = await http.Request.ReadObjectAsync(ct);
        SyncFilter.Parse(definition); // refuses what it cannot read before anything is stored
        var filterId = Guid.NewGuid().ToString("N")[..16];
        await using var session = store.LightweightSession();
        session.Insert(new StoredFilter { Id = StoredFilter.IdFor(userId, filterId), UserId = userId, Definition = definition });
        await session.SaveChangesAsync(ct);
        return MatrixHttp.Ok(new JsonObject { ["filter_id"] = filterId });
    }

    private static async Task<IResult> GetFilter(Caller caller, string userId, string filterId, IQuerySession session, CancellationToken ct)
    {
        RequireSelf(caller, userId, "read filters");
        var filter = await session.LoadAsync<StoredFilter>(StoredFilter.IdFor(userId, filterId), ct);
        return filter is null ? MatrixHttp.Error(MatrixError.NotFound("No such filter")) : MatrixHttp.Ok(filter.Definition.DeepClone());
    }
}
