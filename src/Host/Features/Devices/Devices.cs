using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Marten;
using Matrix.Rooms.Domain.Errors;
using Matrix.Rooms.Domain.Guests;
using Matrix.Rooms.Host.Features.Accounts;
using Matrix.Rooms.Host.Features.Guests;
using Matrix.Rooms.Host.Infrastructure.Http;
using Wolverine;

namespace Matrix.Rooms.Host.Features.Devices;

/// <summary>
/// A device's name. A device exists while it holds an access token (login creates it, logout ends it, as in
/// Synapse); this document only remembers what the user called it.
/// </summary>
public sealed record DeviceName
{
    public required string Id { get; init; }
    public required string UserId { get; init; }
    public required string DeviceId { get; init; }
    public string? DisplayName { get; init; }

    public static string IdFor(string userId, string deviceId) => $"{userId}|{deviceId}";
}

public sealed record RenameDevice(string UserId, string DeviceId, string? DisplayName);

/// <summary>Ends a device: its access tokens and its name.</summary>
public sealed record DeleteDevice(string UserId, string DeviceId);

/// <summary><c>POST /logout/all</c>: every access token of the user, so every device.</summary>
public sealed record LogoutAllDevices(string UserId);

public static class DeviceHandler
{
    public static void Handle(RenameDevice command, IDocumentSession session) =>
        session.Store(new DeviceName
        {
            Id = DeviceName.IdFor(command.UserId, command.DeviceId), UserId = command.UserId, DeviceId = command.DeviceId,
            DisplayName = command.DisplayName,
        });

    public static void Handle(DeleteDevice command, IDocumentSession session)
    {
        session.DeleteWhere<AccessTokenRecord>(t => t.UserId == command.UserId && t.DeviceId == command.DeviceId);
        session.Delete<DeviceName>(DeviceName.IdFor(command.UserId, command.DeviceId));
    }

    public static void Handle(LogoutAllDevices command, IDocumentSession session)
    {
        session.DeleteWhere<AccessTokenRecord>(t => t.UserId == command.UserId);
        session.DeleteWhere<DeviceName>(d => d.UserId == command.UserId);
    }
}

/// <summary>
/// <c>GET /devices</c>, <c>GET/PUT/DELETE /devices/{deviceId}</c> (spec device_management.yaml) and <c>POST /logout/all</c>.
/// Deleting a device needs user-interactive auth with <c>m.login.password</c> (the caller's own password, counted by
/// <see cref="FailedLogins"/> like a login).
/// </summary>
public static class DeviceEndpoints
{
    public static void MapDevices(this IEndpointRouteBuilder api)
    {
        api.MapGet("/devices", async (Caller caller, IQuerySession session, CancellationToken ct) =>
            MatrixHttp.Ok(new JsonObject
            {
                ["devices"] = new JsonArray((await DevicesAsync(session, caller.UserId, ct)).Select(d => (JsonNode)d).ToArray()),
            })).For(ClientEndpoint.GetDevices);

        api.MapGet("/devices/{deviceId}", async (Caller caller, string deviceId, IQuerySession session, CancellationToken ct) =>
            MatrixHttp.Ok(await DeviceAsync(session, caller.UserId, deviceId, ct))).For(ClientEndpoint.GetDevice);

        api.MapPut("/devices/{deviceId}", async (HttpContext http, Caller caller, string deviceId, IQuerySession session, IMessageBus bus,
            CancellationToken ct) =>
        {
            var body = await http.Request.ReadObjectAsync(ct);
            var name = body.OptionalString("display_name");
            if (name is { Length: > 100 }) throw new MatrixException(MatrixError.InvalidParam("display_name is longer than 100 characters"));
            await DeviceAsync(session, caller.UserId, deviceId, ct);
            await bus.InvokeAsync(new RenameDevice(caller.UserId, deviceId, name), ct);
            return MatrixHttp.Ok(new JsonObject());
        }).For(ClientEndpoint.UpdateDevice);

        api.MapDelete("/devices/{deviceId}", async (HttpContext http, Caller caller, string deviceId, IQuerySession session, IMessageBus bus,
            PasswordHashing hashing, FailedLogins failedLogins, CancellationToken ct) =>
        {
            var body = await http.Request.ReadObjectAsync(ct);
            await DeviceAsync(session, caller.UserId, deviceId, ct);
            if (await PasswordAuthAsync(caller, body.OptionalObject("auth"), session, hashing, failedLogins, ct) is { } challenge) return challenge;
            await bus.InvokeAsync(new DeleteDevice(caller.UserId, deviceId), ct);
            return MatrixHttp.Ok(new JsonObject());
        }).For(ClientEndpoint.DeleteDevice);

        api.MapPost("/logout/all", async (Caller caller, IMessageBus bus, CancellationToken ct) =>
        {
            await bus.InvokeAsync(new LogoutAllDevices(caller.UserId), ct);
            return MatrixHttp.Ok(new JsonObject());
        }).For(ClientEndpoint.LogoutAll);
    }

    private static async Task<IReadOnlyList<JsonObject>> DevicesAsync(IQuerySession session, string userId, CancellationToken ct)
    {
        var batch = session.CreateBatchQuery();
        var tokens = batch.Query<AccessTokenRecord>().Where(t => t.UserId == userId).ToList();
        var names = batch.Query<DeviceName>().Where(d => d.UserId == userId).ToList();
        await batch.Execute(ct);
        var nameOf = (await names).ToDictionary(n => n.DeviceId, n => n.DisplayName);
        return (await tokens).Select(t => t.DeviceId).Distinct().Order(StringComparer.Ordinal).Select(deviceId =>
        {
            var device = new JsonObject { ["device_id"] = deviceId };
            if (nameOf.GetValueOrDefault(deviceId) is { } name) device["display_name"] = name;
            return device;
        }).ToList();
    }

    private static async Task<JsonObject> DeviceAsync(IQuerySession session, string userId, string deviceId, CancellationToken ct) =>
        (await DevicesAsync(session, userId, ct)).FirstOrDefault(d => d["device_id"]!.GetValue<string>() == deviceId)
        ?? throw new MatrixException(MatrixError.NotFound($"No device {deviceId}"));

    /// <summary>
    /// Spec "User-Interactive Authentication API", one stage <c>m.login.password</c> for the caller's own account: null
    /// when it passed, else the 401 with the flows (and <c>M_FORBIDDEN</c> when a password was given and was wrong).
    /// </summary>
    private static async Task<IResult?> PasswordAuthAsync(Caller caller, JsonObject? auth, IQuerySession session, PasswordHashing hashing,
        FailedLogins failedLogins, CancellationToken ct)
    {
        var sessionId = auth?.OptionalString("session") ?? RandomNumberGenerator.GetHexString(24, lowercase: true);
        if (auth?.OptionalString("type") != "m.login.password") return Challenge(sessionId, null);
        var user = auth.OptionalObject("identifier")?.OptionalString("user") ?? auth.OptionalString("user") ?? caller.UserId;
        var password = auth.RequiredString("password");
        if (failedLogins.Check(caller.UserId) is { } lockedOut) return MatrixHttp.Error(lockedOut);
        var account = await session.LoadAsync<Account>(caller.UserId, ct);
        var sameUser = user == caller.UserId || (account is not null && user.Equals(account.Localpart, StringComparison.OrdinalIgnoreCase));
        var verified = !sameUser || account?.PasswordHash is null ? Result<bool>.Ok(false) : await hashing.VerifyAsync(password, account.PasswordHash, ct);
        if (!verified.IsSuccess) return MatrixHttp.Error(verified.Error!);
        if (verified.Value) return null;
        failedLogins.Record(caller.UserId);
        return Challenge(sessionId, MatrixError.Forbidden("Invalid password"));
    }

    private static IResult Challenge(string sessionId, MatrixError? error)
    {
        var body = new JsonObject
        {
            ["flows"] = new JsonArray(new JsonObject { ["stages"] = new JsonArray("m.login.password") }),
            ["params"] = new JsonObject(),
            ["session"] = sessionId,
        };
        if (error is not null)
        {
            body["errcode"] = error.ErrCode;
            body["error"] = error.Error;
        }
        return Results.Text(body.ToJsonString(), "application/json", statusCode: 401);
    }
}
