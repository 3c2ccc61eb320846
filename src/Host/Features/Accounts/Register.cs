using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Marten;
using Matrix.Rooms.Domain.Errors;
using Matrix.Rooms.Domain.Identifiers;
using Matrix.Rooms.Host.Infrastructure;
using Matrix.Rooms.Host.Infrastructure.Http;
using Microsoft.Extensions.Options;
using NodaTime;
using Wolverine;

namespace Matrix.Rooms.Host.Features.Accounts;

/// <summary>Register a full account (username + password) or a guest account (<c>kind=guest</c>).</summary>
/// <param name="GuestAccessToken">Upgrade this guest account to a full one instead of creating a new account.</param>
public sealed record RegisterAccount(string? Username, string? Password, bool IsGuest, string? DeviceId = null, bool InhibitLogin = false,
    string? GuestAccessToken = null);

public sealed record RegisterResult(string? UserId, string? AccessToken, string? DeviceId, MatrixError? Error);

public static class RegisterAccountHandler
{
    public const int MinimumPasswordLength = 8;

    public static async Task<RegisterResult> Handle(RegisterAccount command, IDocumentSession session, IOptions<MatrixRoomsOptions> options,
        PasswordHashing hashing, IClock clock, CancellationToken ct)
    {
        var settings = options.Value;
        var now = clock.GetCurrentInstant();
        if (command.GuestAccessToken is not null) return await UpgradeGuestAsync(command, session, hashing, now, ct);
        string localpart;
        if (command.IsGuest)
        {
            if (!settings.AllowGuestRegistration) return Fail(MatrixError.Forbidden("Guest access is disabled on this server"));
            localpart = "guest_" + RandomNumberGenerator.GetHexString(12, lowercase: true);
        }
        else
        {
            if (ValidateUsername(command.Username) is { } invalid) return Fail(invalid);
            if (string.IsNullOrEmpty(command.Password)) return Fail(MatrixError.MissingParam("password"));
            if (command.Password.Length < MinimumPasswordLength)
                return Fail(MatrixError.WeakPassword($"The password must be at least {MinimumPasswordLength} characters long"));
            localpart = command.Username ?? "user_" + RandomNumberGenerator.GetHexString(12, lowercase: true);
        }

        var userId = UserId.Create(localpart, settings.ServerName).Value;
        if (await session.LoadAsync<Account>(userId, ct) is not null)
            return Fail(MatrixError.UserInUse("User ID already taken."));

        string? passwordHash = null;
        if (!command.IsGuest)
        {
            var hashed = await hashing.HashAsync(command.Password!, ct);
            if (!hashed.IsSuccess) return Fail(hashed.Error!);
            passwordHash = hashed.Value;
        }
        // Insert (not upsert): two concurrent registrations of one name cannot both win.
        session.Insert(new Account
        {
            Id = userId,
            Localpart = localpart,
            PasswordHash = passwordHash,
            IsGuest = command.IsGuest,
            CreatedAt = now,
        });
        // As Synapse: the localpart is the display name until the user sets one.
        session.Store(new Profile.UserProfile { Id = userId, DisplayName = localpart });
        if (command.InhibitLogin) return new RegisterResult(userId, null, null, null);
        var deviceId = command.DeviceId ?? AccessTokens.NewDeviceId();
        var token = AccessTokens.Issue(session, userId, deviceId, command.IsGuest, now);
        return new RegisterResult(userId, token, deviceId, null);
    }

    /// <summary>
    /// Spec "Guest Access": a guest becomes a full account by registering with <c>guest_access_token</c>. The account keeps
    /// its user ID (its room memberships name it), gains the password, and stops being a guest; its guest tokens end.
    /// </summary>
    private static async Task<RegisterResult> UpgradeGuestAsync(RegisterAccount command, IDocumentSession session, PasswordHashing hashing,
        Instant now, CancellationToken ct)
    {
        var token = await session.LoadAsync<AccessTokenRecord>(AccessTokens.HashOf(command.GuestAccessToken!), ct);
        if (token is null) return Fail(MatrixError.UnknownToken());
        var account = await session.LoadAsync<Account>(token.UserId, ct);
        if (account is not { IsGuest: true }) return Fail(MatrixError.Forbidden("guest_access_token does not belong to a guest account"));
        if (string.IsNullOrEmpty(command.Password)) return Fail(MatrixError.MissingParam("password"));
        if (command.Password.Length < MinimumPasswordLength)
            return Fail(MatrixError.WeakPassword($"The password must be at least {MinimumPasswordLength} characters long"));

        var hashed = await hashing.HashAsync(command.Password, ct);
        if (!hashed.IsSuccess) return Fail(hashed.Error!);
        session.Store(account with { IsGuest = false, PasswordHash = hashed.Value });
        session.DeleteWhere<AccessTokenRecord>(t => t.UserId == account.Id && t.IsGuest);
        if (command.InhibitLogin) return new RegisterResult(account.Id, null, null, null);
        var deviceId = command.DeviceId ?? token.DeviceId;
        return new RegisterResult(account.Id, AccessTokens.Issue(session, account.Id, deviceId, isGuest: false, now), deviceId, null);
    }

    /// <summary>New accounts use the strict localpart grammar (spec "User Identifiers"): <c>[a-z0-9._=/+-]</c>.</summary>
    public static MatrixError? ValidateUsername(string? username)
    {
        if (username is null) return null;
        if (username.Length == 0 || !UserId.IsValidLocalpart(username, historical: false))
            return MatrixError.InvalidUsername("User ID can only contain characters a-z, 0-9, or '._=-/+'");
        if (username.StartsWith("guest_", StringComparison.Ordinal))
            return MatrixError.InvalidUsername("User IDs starting with 'guest_' are reserved for guests");
        return null;
    }

    private static RegisterResult Fail(MatrixError error) => new(null, null, null, error);
}

public static class RegisterEndpoints
{
    public static void MapRegister(this IEndpointRouteBuilder api)
    {
        // Limited per client address (guests by their own per-minute limit): MatrixRateLimits.Register.
        api.MapPost("/register", async (HttpContext http, IMessageBus bus, IDocumentStore store, CancellationToken ct) =>
        {
            var body = await http.Request.ReadObjectAsync(ct);
            var kind = http.Request.Query["kind"].ToString();
            if (kind is not ("" or "user" or "guest")) return MatrixHttp.Error(MatrixError.InvalidParam($"Unknown kind '{kind}'"));
            var isGuest = kind == "guest";
            // Spec (POST /register, kind=guest): "the homeserver MUST ignore all parameters in the body except
            // initial_device_display_name": a guest gets no chosen name, password or device ID, and is always logged in.
            var username = isGuest ? null : body.OptionalString("username")?.ToLowerInvariant();
            var password = isGuest ? null : body.OptionalString("password");
            var guestAccessToken = isGuest ? null : body.OptionalString("guest_access_token");

            if (!isGuest && guestAccessToken is null)
            {
                // Check the name before user-interactive auth, so a client learns early that it is taken or invalid.
                if (RegisterAccountHandler.ValidateUsername(username) is { } invalid) return MatrixHttp.Error(invalid);
                if (username is not null && await UsernameTaken(store, username, http, ct))
                    return MatrixHttp.Error(MatrixError.UserInUse("User ID already taken."));
                var auth = body.OptionalObject("auth");
                if (auth?.OptionalString("type") != "m.login.dummy")
                    return UserInteractiveAuthRequired(auth?.OptionalString("session"));
            }

            var result = await bus.InvokeAsync<RegisterResult>(new RegisterAccount(username, password, isGuest,
                isGuest ? null : body.OptionalString("device_id"), !isGuest && (body.OptionalBool("inhibit_login") ?? false), guestAccessToken), ct);
            if (result.Error is not null) return MatrixHttp.Error(result.Error);
            var response = new JsonObject { ["user_id"] = result.UserId, ["home_server"] = ServerNameOf(http) };
            if (result.AccessToken is not null)
            {
                response["access_token"] = result.AccessToken;
                response["device_id"] = result.DeviceId;
            }
            return MatrixHttp.Ok(response);
        }).AllowAnonymous().RequireRateLimiting(MatrixRateLimits.Register);

        api.MapGet("/register/available", async (HttpContext http, IDocumentStore store, CancellationToken ct) =>
        {
            var username = http.Request.Query["username"].ToString().ToLowerInvariant();
            if (string.IsNullOrEmpty(username)) return MatrixHttp.Error(MatrixError.MissingParam("username"));
            if (RegisterAccountHandler.ValidateUsername(username) is { } invalid) return MatrixHttp.Error(invalid);
            return await UsernameTaken(store, username, http, ct)
                ? MatrixHttp.Error(MatrixError.UserInUse("User ID already taken."))
                : MatrixHttp.Ok(new JsonObject { ["available"] = true });
        }).AllowAnonymous();
    }

    /// <summary>Spec "User-Interactive Authentication API": 401 with the flows; this server offers <c>m.login.dummy</c>.</summary>
    private static IResult UserInteractiveAuthRequired(string? session) => Results.Text(new JsonObject
    {
        ["flows"] = new JsonArray(new JsonObject { ["stages"] = new JsonArray("m.login.dummy") }),
        ["params"] = new JsonObject(),
        ["session"] = session ?? RandomNumberGenerator.GetHexString(24, lowercase: true),
    }.ToJsonString(), "application/json", statusCode: 401);

    private static async Task<bool> UsernameTaken(IDocumentStore store, string username, HttpContext http, CancellationToken ct)
    {
        await using var session = store.QuerySession();
        return await session.LoadAsync<Account>($"@{username}:{ServerNameOf(http)}", ct) is not null;
    }

    private static string ServerNameOf(HttpContext http) =>
        http.RequestServices.GetRequiredService<IOptions<MatrixRoomsOptions>>().Value.ServerName;
}
