using System.Text.Json.Nodes;
using Marten;
using Matrix.Rooms.Domain.Errors;
using Matrix.Rooms.Domain.Guests;
using Matrix.Rooms.Host.Features.Guests;
using Matrix.Rooms.Host.Infrastructure;
using Matrix.Rooms.Host.Infrastructure.Http;
using Microsoft.Extensions.Options;
using NodaTime;

namespace Matrix.Rooms.Host.Features.Accounts;

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

        api.MapPost("/login", async (HttpContext http, IDocumentSession session, IOptions<MatrixRoomsOptions> options, IClock clock,
            PasswordHashing hashing, FailedLogins failedLogins, CancellationToken ct) =>
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

            if (failedLogins.Check(userId) is { } lockedOut) return MatrixHttp.Error(lockedOut);
            var account = await session.LoadAsync<Account>(userId, ct);
            var verified = account?.PasswordHash is null ? Result<bool>.Ok(false) : await hashing.VerifyAsync(password, account.PasswordHash, ct);
            if (!verified.IsSuccess) return MatrixHttp.Error(verified.Error!);
            if (!verified.Value)
            {
                failedLogins.Record(userId);
                return MatrixHttp.Error(MatrixError.Forbidden("Invalid username or password"));
            }

            var deviceId = body.OptionalString("device_id") ?? AccessTokens.NewDeviceId();
            var token = AccessTokens.Issue(session, userId, deviceId, isGuest: false, clock.GetCurrentInstant());
            if (body.OptionalString("initial_device_display_name") is { Length: > 0 and <= 100 } deviceName)
                session.Store(new Devices.DeviceName { Id = Devices.DeviceName.IdFor(userId, deviceId), UserId = userId, DeviceId = deviceId, DisplayName = deviceName });
            await session.SaveChangesAsync(ct);
            return MatrixHttp.Ok(new JsonObject
            {
                ["user_id"] = userId,
                ["access_token"] = token,
                ["device_id"] = deviceId,
                ["home_server"] = options.Value.ServerName,
            });
        }).AllowAnonymous().RequireRateLimiting(MatrixRateLimits.Login);

        api.MapGet("/account/whoami", (Caller caller) =>
            MatrixHttp.Ok(new JsonObject { ["user_id"] = caller.UserId, ["device_id"] = caller.DeviceId, ["is_guest"] = caller.IsGuest }))
            .For(ClientEndpoint.WhoAmI);

        api.MapPost("/logout", async (Caller caller, IDocumentSession session, CancellationToken ct) =>
        {
            session.Delete<AccessTokenRecord>(caller.TokenId);
            await session.SaveChangesAsync(ct);
            return MatrixHttp.Ok(new JsonObject());
        }).For(ClientEndpoint.Logout);
    }
}
