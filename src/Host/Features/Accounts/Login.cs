using System.Text.Json.Nodes;
using Marten;
using Matrix.Rooms.Domain.Errors;
using Matrix.Rooms.Domain.Guests;
using Matrix.Rooms.Host.Features.Guests;
using Matrix.Rooms.Host.Infrastructure;
using Matrix.Rooms.Host.Infrastructure.Http;
using Microsoft.Extensions.Options;
using NodaTime;
using Wolverine;

namespace Matrix.Rooms.Host.Features.Accounts;

/// <summary><c>m.login.password</c> for a user ID (the endpoint resolves the identifier).</summary>
public sealed record LogIn(string UserId, string Password, string? DeviceId, string? InitialDeviceDisplayName = null)
{
    // The password stays out of anything that prints the command (logs, traces).
    public override string ToString() => $"LogIn {{ UserId = {UserId}, DeviceId = {DeviceId} }}";
}

public sealed record LoginResult(string? AccessToken, string? DeviceId, MatrixError? Error);

/// <summary>Ends the session of one access token (<c>POST /logout</c>).</summary>
public sealed record LogOut(string TokenId);

public static class LoginHandler
{
    /// <summary>Checks the per-user failure limit, the password (waiting for a hashing slot), then issues a token, stored
    /// when Wolverine's transactional middleware saves the session.</summary>
    public static async Task<LoginResult> Handle(LogIn command, IDocumentSession session, IClock clock, PasswordHashing hashing,
        FailedLogins failedLogins, CancellationToken ct)
    {
        if (failedLogins.Check(command.UserId) is { } lockedOut) return Fail(lockedOut);
        var account = await session.LoadAsync<Account>(command.UserId, ct);
        var verified = account?.PasswordHash is null ? Result<bool>.Ok(false) : await hashing.VerifyAsync(command.Password, account.PasswordHash, ct);
        if (!verified.IsSuccess) return Fail(verified.Error!);
        if (!verified.Value)
        {
            failedLogins.Record(command.UserId);
            return Fail(MatrixError.Forbidden("Invalid username or password"));
        }
        var deviceId = command.DeviceId ?? AccessTokens.NewDeviceId();
        var token = AccessTokens.Issue(session, command.UserId, deviceId, isGuest: false, clock.GetCurrentInstant());
        if (command.InitialDeviceDisplayName is { Length: > 0 and <= 100 } deviceName)
            session.Store(new Devices.DeviceName
            {
                Id = Devices.DeviceName.IdFor(command.UserId, deviceId), UserId = command.UserId, DeviceId = deviceId, DisplayName = deviceName,
            });
        return new LoginResult(token, deviceId, null);
    }

    public static void Handle(LogOut command, IDocumentSession session) => session.Delete<AccessTokenRecord>(command.TokenId);

    private static LoginResult Fail(MatrixError error) => new(null, null, error);
}

/// <summary>
/// <c>GET/POST /login</c> (<c>m.login.password</c>), <c>GET /account/whoami</c>, <c>POST /logout</c>. A login is limited
/// per client address (<see cref="MatrixRateLimits.Login"/>) and per attempted user (<see cref="FailedLogins"/>), and its
/// password check waits for a hashing slot (<see cref="PasswordHashing"/>).
/// </summary>
public static class LoginEndpoints
{
    public static void MapLogin(this IEndpointRouteBuilder api)
    {
        api.MapGet("/login", () => MatrixHttp.Ok(new JsonObject
        {
            ["flows"] = new JsonArray(new JsonObject { ["type"] = "m.login.password" }),
        })).AllowAnonymous();

        api.MapPost("/login", async (HttpContext http, IMessageBus bus, IOptions<MatrixRoomsOptions> options, CancellationToken ct) =>
        {
            var body = await http.Request.ReadObjectAsync(ct);
            var type = body.RequiredString("type");
            if (type != "m.login.password")
                return MatrixHttp.Error(new MatrixError(400, "M_UNKNOWN", $"Unknown login type {type}"));
            var user = body.OptionalObject("identifier") is { } identifier
                ? identifier.OptionalString("type") == "m.id.user"
                    ? identifier.RequiredString("user")
                    : throw new MatrixException(new MatrixError(400, "M_UNKNOWN", "Only m.id.user identifiers are supported"))
                : body.RequiredString("user"); // the deprecated top-level form
            var password = body.RequiredString("password");
            var userId = user.StartsWith('@') ? user : $"@{user.ToLowerInvariant()}:{options.Value.ServerName}";

            var result = await bus.InvokeAsync<LoginResult>(new LogIn(userId, password, body.OptionalString("device_id"), body.OptionalString("initial_device_display_name")), ct);
            if (result.Error is not null) return MatrixHttp.Error(result.Error);
            return MatrixHttp.Ok(new JsonObject
            {
                ["user_id"] = userId,
                ["access_token"] = result.AccessToken,
                ["device_id"] = result.DeviceId,
                ["home_server"] = options.Value.ServerName,
            });
        }).AllowAnonymous().RequireRateLimiting(MatrixRateLimits.Login);

        api.MapGet("/account/whoami", (Caller caller) =>
            MatrixHttp.Ok(new JsonObject { ["user_id"] = caller.UserId, ["device_id"] = caller.DeviceId, ["is_guest"] = caller.IsGuest }))
            .For(ClientEndpoint.WhoAmI);

        api.MapPost("/logout", async (Caller caller, IMessageBus bus, CancellationToken ct) =>
        {
            await bus.InvokeAsync(new LogOut(caller.TokenId), ct);
            return MatrixHttp.Ok(new JsonObject());
        }).For(ClientEndpoint.Logout);
    }
}
