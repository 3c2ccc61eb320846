using System.Text.Json.Nodes;
using Matrix.Rooms.Domain.Errors;
using Matrix.Rooms.Domain.ThirdPartyInvites;
using Matrix.Rooms.IdentityServer.Http;

namespace Matrix.Rooms.IdentityServer;

/// <summary>
/// The identity server's HTTP face, <c>/_matrix/identity/v2</c> (identity service API v2): status, terms,
/// OpenID account registration, <c>hash_details</c>, <c>lookup</c>, <c>store-invite</c>, <c>pubkey/…</c>, e-mail
/// validation, <c>3pid/getValidated3pid</c>, <c>3pid/bind</c>, <c>3pid/unbind</c>. Authenticated endpoints take
/// <c>Authorization: Bearer</c> with a token from <c>/account/register</c> (or, embedded, the homeserver's own access
/// token) and answer <c>401 M_UNAUTHORIZED</c> without one (spec "Authentication").
/// </summary>
public static class IdentityServerEndpoints
{
    internal static void MapIdentityServerApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/_matrix/identity/versions", () => IdentityHttp.Ok(new JsonObject
        {
            ["versions"] = new JsonArray("v1.1", "v1.2", "v1.3", "v1.4", "v1.5", "v1.6", "v1.7", "v1.8", "v1.9", "v1.10", "v1.11", "v1.12"),
        }));

        var api = app.MapGroup("/_matrix/identity/v2");
        api.MapGet("", () => IdentityHttp.Ok(new JsonObject()));
        api.MapGet("/terms", () => IdentityHttp.Ok(new JsonObject { ["policies"] = new JsonObject() }));
        api.MapPost("/terms", async (HttpContext http, IdentityService service, CancellationToken ct) =>
        {
            await RequireUserAsync(http, service, ct);
            return IdentityHttp.Ok(new JsonObject());
        });

        api.MapPost("/account/register", async (HttpContext http, IdentityService service, CancellationToken ct) =>
            Answer(await service.RegisterAsync(await http.Request.ReadObjectAsync(ct), ct), token => new JsonObject { ["token"] = token }));
        api.MapGet("/account", async (HttpContext http, IdentityService service, CancellationToken ct) =>
            IdentityHttp.Ok(new JsonObject { ["user_id"] = await RequireUserAsync(http, service, ct) }));
        api.MapPost("/account/logout", async (HttpContext http, IdentityService service, CancellationToken ct) =>
        {
            await RequireUserAsync(http, service, ct);
            await service.LogoutAsync(BearerToken(http)!, ct);
            return IdentityHttp.Ok(new JsonObject());
        });

        api.MapGet("/hash_details", async (HttpContext http, IdentityService service, CancellationToken ct) =>
        {
            await RequireUserAsync(http, service, ct);
            var details = service.HashDetails();
            return IdentityHttp.Ok(new JsonObject
            {
                ["lookup_pepper"] = details.LookupPepper,
                ["algorithms"] = new JsonArray(details.Algorithms.Select(a => (JsonNode?)a).ToArray()),
            });
        });

        api.MapPost("/lookup", async (HttpContext http, IdentityService service, CancellationToken ct) =>
        {
            await RequireUserAsync(http, service, ct);
            var body = await http.Request.ReadObjectAsync(ct);
            var result = await service.LookupAsync(body.RequiredString("algorithm"), body.RequiredString("pepper"),
                body.OptionalArray("addresses") is not null ? body.OptionalStrings("addresses") : throw new MatrixException(MatrixError.MissingParam("addresses")), ct);
            return Answer(result, mappings =>
            {
                var json = new JsonObject();
                foreach (var (address, mxid) in mappings) json[address] = mxid;
                return new JsonObject { ["mappings"] = json };
            });
        });

        api.MapPost("/store-invite", async (HttpContext http, IdentityService service, PublicBaseUrl publicBaseUrl, CancellationToken ct) =>
        {
            var caller = await RequireUserAsync(http, service, ct);
            var body = await http.Request.ReadObjectAsync(ct);
            // "Currently, invites may only be issued for 3pids of the email medium" — another is M_UNRECOGNIZED.
            if (body.RequiredString("medium") != Media.Email)
                return IdentityHttp.Error(new MatrixError(400, "M_UNRECOGNIZED", "Invites may only be issued for the email medium"));
            var invitee = ThirdPartyId.Parse(Media.Email, body.RequiredString("address"));
            if (!invitee.IsSuccess) return IdentityHttp.Error(invitee.Error!);
            var request = new StoreInviteRequest(invitee.Value, body.RequiredString("room_id"), body.RequiredString("sender"))
            {
                RoomAlias = body.OptionalString("room_alias"), RoomAvatarUrl = body.OptionalString("room_avatar_url"),
                RoomJoinRules = body.OptionalString("room_join_rules"), RoomName = body.OptionalString("room_name"),
                RoomType = body.OptionalString("room_type"), SenderDisplayName = body.OptionalString("sender_display_name"),
                SenderAvatarUrl = body.OptionalString("sender_avatar_url"),
            };
            return Answer(await service.StoreInviteAsync(caller, request, publicBaseUrl.Value, ct), invite => new JsonObject
            {
                ["token"] = invite.Token,
                ["public_keys"] = new JsonArray(invite.PublicKeys.Select(k => (JsonNode?)new JsonObject
                    { ["public_key"] = k.PublicKey, ["key_validity_url"] = k.KeyValidityUrl }).ToArray()),
                ["display_name"] = invite.DisplayName,
            });
        });

        api.MapGet("/pubkey/isvalid", (HttpContext http, IdentityService service) =>
            IdentityHttp.Ok(new JsonObject { ["valid"] = service.IsLongTermKeyValid(RequiredQuery(http, "public_key")) }));
        api.MapGet("/pubkey/ephemeral/isvalid", async (HttpContext http, IdentityService service, CancellationToken ct) =>
            IdentityHttp.Ok(new JsonObject { ["valid"] = await service.IsEphemeralKeyValidAsync(RequiredQuery(http, "public_key"), ct) }));
        api.MapGet("/pubkey/{keyId}", (string keyId, IdentityService service) =>
            Answer(service.PublicKeyFor(keyId), key => new JsonObject { ["public_key"] = key }));

        api.MapPost("/validate/email/requestToken", async (HttpContext http, IdentityService service, PublicBaseUrl publicBaseUrl,
            NextLinkPolicy nextLinks, CancellationToken ct) =>
        {
            await RequireUserAsync(http, service, ct);
            var body = await http.Request.ReadObjectAsync(ct);
            var sendAttempt = body["send_attempt"] switch
            {
                null => throw new MatrixException(MatrixError.MissingParam("send_attempt")),
                JsonValue v when v.TryGetValue<int>(out var n) => n,
                // Deliberately beyond the spec's letter, as Sydent: matrix-js-sdk (and so Element) sends "send_attempt": "1".
                JsonValue v when v.TryGetValue<string>(out var text) && int.TryParse(text, System.Globalization.NumberStyles.None,
                    System.Globalization.CultureInfo.InvariantCulture, out var parsed) => parsed,
                _ => throw new MatrixException(MatrixError.BadJson("'send_attempt' must be an integer")),
            };
            var nextLink = body.OptionalString("next_link");
            if (nextLinks.Check(nextLink) is { } badLink) return IdentityHttp.Error(badLink);
            // The link in the e-mail starts with the configured public URL: the Host header is the client's to choose.
            var result = await service.RequestEmailTokenAsync(body.RequiredString("client_secret"), body.RequiredString("email"),
                sendAttempt, nextLink, publicBaseUrl.Value, ct);
            return Answer(result, sid => new JsonObject { ["sid"] = sid });
        });
        api.MapPost("/validate/email/submitToken", async (HttpContext http, IdentityService service, CancellationToken ct) =>
        {
            await RequireUserAsync(http, service, ct);
            var body = await http.Request.ReadObjectAsync(ct);
            var result = await service.SubmitTokenAsync(body.RequiredString("sid"), body.RequiredString("client_secret"),
                body.RequiredString("token"), ct);
            return Answer(result, _ => new JsonObject { ["success"] = true });
        });
        // The link in the e-mail: opened in a browser, so no access token; the token in the link is the proof.
        api.MapGet("/validate/email/submitToken", async (HttpContext http, IdentityService service, NextLinkPolicy nextLinks, CancellationToken ct) =>
        {
            var result = await service.SubmitTokenAsync(RequiredQuery(http, "sid"), RequiredQuery(http, "client_secret"),
                RequiredQuery(http, "token"), ct);
            if (!result.IsSuccess) return Results.Text($"Validation failed: {result.Error!.Error}\n", "text/plain", statusCode: result.Error.Status);
            // Checked again here: a session stored before the policy (or under another configuration) is not followed.
            return nextLinks.Allows(result.Value.NextLink, out var uri)
                ? Results.Redirect(uri.AbsoluteUri)
                : Results.Text("Your e-mail address has been validated. You can return to your Matrix client.\n", "text/plain");
        });

        api.MapGet("/3pid/getValidated3pid", async (HttpContext http, IdentityService service, CancellationToken ct) =>
        {
            await RequireUserAsync(http, service, ct);
            return Answer(await service.GetValidatedAsync(RequiredQuery(http, "sid"), RequiredQuery(http, "client_secret"), ct), json => json);
        });
        api.MapPost("/3pid/bind", async (HttpContext http, IdentityService service, CancellationToken ct) =>
        {
            var caller = await RequireUserAsync(http, service, ct);
            var body = await http.Request.ReadObjectAsync(ct);
            var result = await service.BindThreepidAsync(caller, body.RequiredString("sid"), body.RequiredString("client_secret"),
                body.RequiredString("mxid"), ct);
            return Answer(result, json => json);
        });
        api.MapPost("/3pid/unbind", async (HttpContext http, IdentityService service, CancellationToken ct) =>
        {
            var token = BearerToken(http);
            var caller = token is null ? null : await service.UserOfTokenAsync(token, ct);
            var body = await http.Request.ReadObjectAsync(ct);
            var threepid = body.OptionalObject("threepid") ?? throw new MatrixException(MatrixError.MissingParam("threepid"));
            var result = await service.UnbindAsync(caller, body.OptionalString("sid"), body.OptionalString("client_secret"),
                body.RequiredString("mxid"), threepid.OptionalString("medium"), threepid.OptionalString("address"), ct);
            return Answer(result, json => json);
        });
    }

    private static string? BearerToken(HttpContext http)
    {
        var header = http.Request.Headers.Authorization.ToString();
        return header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) && header.Length > 7 ? header[7..].Trim() : null;
    }

    private static async Task<string> RequireUserAsync(HttpContext http, IdentityService service, CancellationToken ct)
    {
        var token = BearerToken(http) ?? throw new MatrixException(new MatrixError(401, "M_UNAUTHORIZED", "An identity server access token is required"));
        return await service.UserOfTokenAsync(token, ct)
               ?? throw new MatrixException(new MatrixError(401, "M_UNAUTHORIZED", "Unrecognised identity server access token"));
    }

    private static string RequiredQuery(HttpContext http, string name) =>
        http.Request.Query[name].ToString() is { Length: > 0 } value ? value : throw new MatrixException(MatrixError.MissingParam(name));

    private static IResult Answer<T>(Result<T> result, Func<T, JsonObject> body) =>
        result.IsSuccess ? IdentityHttp.Ok(body(result.Value)) : IdentityHttp.Error(result.Error!);
}
