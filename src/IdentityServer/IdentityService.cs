using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Marten;
using Matrix.Rooms.Domain.Crypto;
using Matrix.Rooms.Domain.Errors;
using Matrix.Rooms.Domain.Identifiers;
using Matrix.Rooms.Domain.ThirdPartyInvites;
using Microsoft.Extensions.Options;
using NodaTime;
using Wolverine;
using Wolverine.Marten.Publishing;
using Wolverine.Runtime;

namespace Matrix.Rooms.IdentityServer;

/// <summary>
/// The identity server (identity service API v2 subset): hashed lookup, invitation storage, public keys,
/// e-mail validation through the mail drop, bind/unbind with the <c>/3pid/onbind</c> notification, and OpenID
/// account registration. Its HTTP face is <see cref="IdentityServerEndpoints"/>; a homeserver it is embedded in may also
/// call it in process, with the same checks. Every operation answers a value or the spec's Matrix error. Its side effects
/// (mails, <c>/3pid/onbind</c> notifications) are messages published in the same transaction as the documents that cause
/// them (<see cref="IdentityOutbox"/>).
/// </summary>
public sealed class IdentityService(
    IIdentityStore store,
    IdentityKeyStore keys,
    HomeserverClient homeservers,
    IWolverineRuntime wolverine,
    OutboxedSessionFactory<IIdentityStore> outbox,
    IClock clock,
    IOptions<IdentityServerOptions> options,
    ILogger<IdentityService> logger)
{
    /// <summary>"Sessions are time-limited … within a 24-hour period since its most recent modification."</summary>
    public static readonly Duration SessionLifetime = Duration.FromHours(24);

    /// <summary>How long a binding is asserted for (<c>not_after</c>); as Sydent, effectively unlimited.</summary>
    private static readonly Duration AssociationLifetime = Duration.FromDays(100 * 365);

    private const int MaxLookupAddresses = 10_000;

    /// <summary>The entity name in this server's signatures.</summary>
    public string Name => options.Value.EffectiveServerName;

    public string PublicKeyId => keys.SigningKey.KeyId;
    public string PublicKey => keys.SigningKey.PublicKeyBase64;

    // ── Lookup ──────────────────────────────────────────────────────────────────────────────────────────────────

    public HashDetails HashDetails() => new(keys.LookupPepper, [LookupHash.Sha256Algorithm, LookupHash.NoneAlgorithm]);

    public async Task<Result<IReadOnlyDictionary<string, string>>> LookupAsync(string algorithm, string pepper,
        IReadOnlyList<string> addresses, CancellationToken ct)
    {
        if (algorithm is not (LookupHash.Sha256Algorithm or LookupHash.NoneAlgorithm))
            return MatrixError.InvalidParam($"Unknown algorithm '{algorithm}': this server supports sha256 and none");
        if (pepper != keys.LookupPepper)
            return new MatrixError(400, "M_INVALID_PEPPER", "Unknown or invalid pepper - has it been rotated?");
        if (addresses.Count > MaxLookupAddresses)
            return MatrixError.InvalidParam($"At most {MaxLookupAddresses} addresses may be looked up at once");

        var mappings = new Dictionary<string, string>(StringComparer.Ordinal);
        if (addresses.Count == 0) return Result<IReadOnlyDictionary<string, string>>.Ok(mappings);
        await using var session = store.QuerySession();
        if (algorithm == LookupHash.Sha256Algorithm)
        {
            var hashes = addresses.Distinct().ToArray();
            var found = await session.Query<IdentityAssociation>().Where(a => a.LookupHash.IsOneOf(hashes)).ToListAsync(ct);
            foreach (var association in found) mappings[association.LookupHash] = association.Mxid;
            return Result<IReadOnlyDictionary<string, string>>.Ok(mappings);
        }
        // none: "<address> <medium>" in clear.
        var ids = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var query in addresses.Distinct())
        {
            var space = query.LastIndexOf(' ');
            if (space <= 0) continue;
            var parsed = ThirdPartyId.Parse(query[(space + 1)..], query[..space]);
            if (parsed.IsSuccess) ids[IdentityAssociation.IdFor(parsed.Value.Medium, parsed.Value.Address)] = query;
        }
        var associations = await session.LoadManyAsync<IdentityAssociation>(ct, ids.Keys.ToArray());
        foreach (var association in associations) mappings[ids[association.Id]] = association.Mxid;
        return Result<IReadOnlyDictionary<string, string>>.Ok(mappings);
    }

    // ── Invitation storage ──────────────────────────────────────────────────────────────────────────────────────

    /// <summary>
    /// <c>POST /store-invite</c>: "The service will generate a random token and an ephemeral key … also generates a
    /// display_name … a redacted version of address … records persistently all of the above … generates an email".
    /// Only e-mail addresses may be invited (<c>M_UNRECOGNIZED</c>); a bound address is <c>M_THREEPID_IN_USE</c>.
    /// </summary>
    /// <param name="caller">The token's user, who must be the inviter (null: the homeserver itself).</param>
    public async Task<Result<StoredInvite>> StoreInviteAsync(string? caller, StoreInviteRequest request, string baseUrl, CancellationToken ct)
    {
        var invitee = request.Invitee;
        if (caller is not null && caller != request.Sender)
            return MatrixError.Forbidden($"{caller} may only store invitations sent by themselves, not by {request.Sender}");
        if (invitee.Medium != Media.Email)
            return new MatrixError(400, "M_UNRECOGNIZED", "Invites may only be issued for third-party identifiers of the email medium");
        if (!RoomId.IsValid(request.RoomId)) return MatrixError.InvalidParam("room_id is not a room ID");
        if (!UserId.IsValid(request.Sender)) return MatrixError.InvalidParam("sender is not a user ID");

        var bus = new MessageContext(wolverine);
        await using var session = outbox.OpenSession(bus);
        var bound = await session.LoadAsync<IdentityAssociation>(IdentityAssociation.IdFor(invitee.Medium, invitee.Address), ct);
        if (bound is not null)
            return new MatrixError(400, "M_THREEPID_IN_USE", "Binding already known")
            {
                Extra = new Dictionary<string, JsonNode?> { ["mxid"] = bound.Mxid },
            };

        var token = RandomString(32);
        string ephemeralPublicKey;
        using (var ephemeral = Ed25519SigningKey.Generate("ephemeral")) ephemeralPublicKey = ephemeral.PublicKeyBase64;
        var displayName = AddressPrivacy.Obfuscate(invitee);
        session.Store(new IdentityStoredInvite
        {
            Id = token, Medium = invitee.Medium, Address = invitee.Address, RoomId = request.RoomId, Sender = request.Sender,
            DisplayName = displayName, EphemeralPublicKey = ephemeralPublicKey, CreatedAt = clock.GetCurrentInstant(),
        });

        var room = request.RoomName ?? request.RoomAlias ?? "a room";
        var inviter = request.SenderDisplayName is { Length: > 0 } d ? $"{d} ({request.Sender})" : request.Sender;
        await bus.PublishAsync(Mail(invitee, "invitation", $"{inviter} invited you to {room} on Matrix",
            $"""
            Hello,

            {inviter} has invited you to {room} on Matrix.

            To accept, sign in to a Matrix client, add this e-mail address to your account through this identity server
            and bind it to your Matrix ID: the invitation then arrives as an ordinary room invite.

            Room ID: {request.RoomId}
            """));
        await session.SaveChangesAsync(ct);

        baseUrl = baseUrl.TrimEnd('/');
        return new StoredInvite(token,
        [
            new InvitePublicKey(PublicKey, $"{baseUrl}/_matrix/identity/v2/pubkey/isvalid"),
            new InvitePublicKey(ephemeralPublicKey, $"{baseUrl}/_matrix/identity/v2/pubkey/ephemeral/isvalid"),
        ], displayName);
    }

    // ── Keys ────────────────────────────────────────────────────────────────────────────────────────────────────

    public Result<string> PublicKeyFor(string keyId) =>
        keyId == PublicKeyId ? PublicKey : MatrixError.NotFound("The public key was not found");

    public bool IsLongTermKeyValid(string publicKey) =>
        UnpaddedBase64.TryDecode(publicKey, out var bytes) && bytes.AsSpan().SequenceEqual(keys.SigningKey.PublicKey);

    /// <summary>"This MUST be the exact same encoded string returned in the response of the /store-invite endpoint".</summary>
    public async Task<bool> IsEphemeralKeyValidAsync(string publicKey, CancellationToken ct)
    {
        await using var session = store.QuerySession();
        return await session.Query<IdentityStoredInvite>().AnyAsync(i => i.EphemeralPublicKey == publicKey, ct);
    }

    // ── E-mail validation ───────────────────────────────────────────────────────────────────────────────────────

    /// <summary>
    /// <c>POST /validate/email/requestToken</c>: creates a session (or reuses the one for this e-mail and client secret)
    /// and writes the e-mail with the token to the mail drop — again only when <c>send_attempt</c> is greater than the
    /// last one seen.
    /// </summary>
    public async Task<Result<string>> RequestEmailTokenAsync(string clientSecret, string email, int sendAttempt, string? nextLink,
        string baseUrl, CancellationToken ct)
    {
        if (!OpaqueString.IsValid(clientSecret))
            return MatrixError.InvalidParam("client_secret must be 1–255 characters of [0-9a-zA-Z.=_-]");
        var parsed = ThirdPartyId.Parse(Media.Email, email);
        if (!parsed.IsSuccess) return new MatrixError(400, "M_INVALID_EMAIL", "The email address is not valid");
        var address = parsed.Value;
        var now = clock.GetCurrentInstant();

        var bus = new MessageContext(wolverine);
        await using var session = outbox.OpenSession(bus);
        var existing = (await session.Query<IdentityValidationSession>()
                .Where(s => s.Medium == address.Medium && s.Address == address.Address && s.ClientSecret == clientSecret)
                .ToListAsync(ct))
            .Where(s => s.ModifiedAt + SessionLifetime > now)
            .OrderByDescending(s => s.CreatedAt)
            .FirstOrDefault();
        if (existing is not null && sendAttempt <= existing.SendAttempt) return existing.Id;

        var validation = existing is not null
            ? existing with { SendAttempt = sendAttempt, NextLink = nextLink ?? existing.NextLink }
            : new IdentityValidationSession
            {
                Id = RandomString(16), Medium = address.Medium, Address = address.Address, ClientSecret = clientSecret,
                Token = RandomString(18), SendAttempt = sendAttempt, NextLink = nextLink, CreatedAt = now, ModifiedAt = now,
            };
        session.Store(validation);

        var link = $"{baseUrl.TrimEnd('/')}/_matrix/identity/v2/validate/email/submitToken" +
                   $"?sid={validation.Id}&client_secret={Uri.EscapeDataString(clientSecret)}&token={validation.Token}";
        await bus.PublishAsync(Mail(address, "validation", "Validate your e-mail address for Matrix",
            $"""
            Hello,

            Someone asked to link this e-mail address to a Matrix account. If it was you, give your Matrix client the
            token below, or open the link. If it was not you, ignore this message.

            Token: {validation.Token}
            Session: {validation.Id}

            {link}
            """));
        await session.SaveChangesAsync(ct);
        return validation.Id;
    }

    /// <summary><c>/validate/email/submitToken</c>: the token from the e-mail proves the address; nothing is published yet.</summary>
    public async Task<Result<IdentityValidationSession>> SubmitTokenAsync(string sid, string clientSecret, string token, CancellationToken ct)
    {
        await using var session = store.LightweightSession();
        var found = await FindSessionAsync(session, sid, clientSecret, ct);
        if (!found.IsSuccess) return found;
        var validation = found.Value;
        // "The identity server is free to match the token case-insensitively."
        if (!CryptographicOperations.FixedTimeEquals(
                System.Text.Encoding.UTF8.GetBytes(validation.Token.ToLowerInvariant()),
                System.Text.Encoding.UTF8.GetBytes(token.Trim().ToLowerInvariant())))
            return new MatrixError(400, "M_TOKEN_INCORRECT", "The token is incorrect");
        var now = clock.GetCurrentInstant();
        validation = validation with { ValidatedAt = validation.ValidatedAt ?? now, ModifiedAt = now };
        session.Store(validation);
        await session.SaveChangesAsync(ct);
        return validation;
    }

    /// <summary><c>GET /3pid/getValidated3pid</c>.</summary>
    public async Task<Result<JsonObject>> GetValidatedAsync(string sid, string clientSecret, CancellationToken ct)
    {
        await using var session = store.QuerySession();
        var found = await FindSessionAsync(session, sid, clientSecret, ct);
        if (!found.IsSuccess) return found.Error!;
        if (found.Value.ValidatedAt is not { } validatedAt)
            return new MatrixError(400, "M_SESSION_NOT_VALIDATED", "This validation session has not yet been completed");
        return new JsonObject
        {
            ["medium"] = found.Value.Medium, ["address"] = found.Value.Address,
            ["validated_at"] = validatedAt.ToUnixTimeMilliseconds(),
        };
    }

    // ── Bind / unbind ───────────────────────────────────────────────────────────────────────────────────────────

    /// <summary>
    /// <c>POST /3pid/bind</c>: publishes (medium, address) → <paramref name="mxid"/> for a validated session, answers the
    /// signed association, and hands every pending invitation for the address to the user's homeserver (the
    /// <c>/3pid/onbind</c> notification), each with <c>signed</c> = {<c>mxid</c>, <c>token</c>} signed with the
    /// long-term key. An invitation is handed over once. A caller may only bind their own Matrix ID
    /// (<paramref name="caller"/> null: the homeserver itself). Not called BindAsync: minimal APIs would take a method
    /// of that name for a parameter binder of this type.
    /// </summary>
    public async Task<Result<JsonObject>> BindThreepidAsync(string? caller, string sid, string clientSecret, string mxid, CancellationToken ct)
    {
        if (!UserId.IsValid(mxid)) return MatrixError.InvalidParam($"mxid is not a user ID: {mxid}");
        if (caller is not null && caller != mxid)
            return MatrixError.Forbidden($"{caller} may only bind third-party identifiers to their own Matrix ID, not to {mxid}");

        var bus = new MessageContext(wolverine);
        await using var session = outbox.OpenSession(bus);
        var found = await FindSessionAsync(session, sid, clientSecret, ct);
        if (!found.IsSuccess) return found.Error!;
        var validation = found.Value;
        if (validation.ValidatedAt is null)
            return new MatrixError(400, "M_SESSION_NOT_VALIDATED", "This validation session has not yet been completed");
        var address = ThirdPartyId.Parse(validation.Medium, validation.Address).Value;

        var now = clock.GetCurrentInstant();
        session.Store(new IdentityAssociation
        {
            Id = IdentityAssociation.IdFor(address.Medium, address.Address), Medium = address.Medium, Address = address.Address,
            Mxid = mxid, LookupHash = LookupHash.Sha256(address, keys.LookupPepper), BoundAt = now,
        });
        var association = Sign(new JsonObject
        {
            ["address"] = address.Address, ["medium"] = address.Medium, ["mxid"] = mxid,
            ["not_before"] = now.ToUnixTimeMilliseconds(), ["not_after"] = (now + AssociationLifetime).ToUnixTimeMilliseconds(),
            ["ts"] = now.ToUnixTimeMilliseconds(),
        });
        await PublishPendingInvitesAsync(session, bus, address, mxid, association, ct);
        await session.SaveChangesAsync(ct);
        logger.LogInformation("Bound {Address} to {Mxid}", address, mxid);
        return association;
    }

    /// <summary>
    /// <c>POST /3pid/unbind</c>, authenticated either by the caller being <paramref name="mxid"/> or by a validated
    /// session for the same 3PID (<paramref name="sid"/>, <paramref name="clientSecret"/>).
    /// </summary>
    public async Task<Result<JsonObject>> UnbindAsync(string? caller, string? sid, string? clientSecret, string mxid,
        string? medium, string? address, CancellationToken ct)
    {
        var threepid = ThirdPartyId.Parse(medium, address);
        if (!threepid.IsSuccess) return threepid.Error!;
        await using var session = store.LightweightSession();
        if (sid is not null || clientSecret is not null)
        {
            var found = await FindSessionAsync(session, sid ?? "", clientSecret ?? "", ct);
            if (!found.IsSuccess) return found.Error!;
            if (found.Value.ValidatedAt is null || found.Value.Medium != threepid.Value.Medium || found.Value.Address != threepid.Value.Address)
                return MatrixError.Forbidden("The session does not prove ownership of this third-party identifier");
        }
        else if (caller is null || caller != mxid)
            return MatrixError.Forbidden($"Only {mxid} (or a validated session for the address) may remove this binding");

        var id = IdentityAssociation.IdFor(threepid.Value.Medium, threepid.Value.Address);
        var association = await session.LoadAsync<IdentityAssociation>(id, ct);
        if (association is not null && association.Mxid == mxid)
        {
            session.Delete<IdentityAssociation>(id);
            await session.SaveChangesAsync(ct);
            logger.LogInformation("Unbound {Address} from {Mxid}", threepid.Value, mxid);
        }
        return new JsonObject();
    }

    // ── Access tokens (OpenID) ──────────────────────────────────────────────────────────────────────────────────

    /// <summary>
    /// The user behind an identity-server token: one issued by <see cref="RegisterAsync"/>, or — embedded only — an
    /// access token of the homeserver it is embedded in (asked through <see cref="IEmbeddingHomeserver"/>).
    /// </summary>
    public async Task<string?> UserOfTokenAsync(string token, CancellationToken ct)
    {
        await using (var session = store.QuerySession())
            if (await session.LoadAsync<IdentityAccessToken>(TokenHash.Of(token), ct) is { } issued)
                return issued.UserId;
        return await homeservers.UserOfHomeserverAccessTokenAsync(token, ct);
    }

    /// <summary><c>POST /account/register</c>: the OpenID token is checked with its homeserver; a new identity-server token is issued.</summary>
    public async Task<Result<string>> RegisterAsync(JsonObject openId, CancellationToken ct)
    {
        if (openId["access_token"] is not JsonValue t || !t.TryGetValue<string>(out var openIdToken) || openIdToken.Length == 0)
            return MatrixError.MissingParam("access_token");
        if (openId["matrix_server_name"] is not JsonValue s || !s.TryGetValue<string>(out var serverName) || !ServerName.IsValid(serverName))
            return MatrixError.MissingParam("matrix_server_name");
        var userId = await homeservers.UserOfOpenIdTokenAsync(serverName, openIdToken, ct);
        if (!userId.IsSuccess) return userId.Error!;
        if (UserId.ServerOf(userId.Value) != serverName)
            return new MatrixError(401, "M_UNAUTHORIZED", $"{serverName} vouched for {userId.Value}, who is not one of its users");

        var token = "mis_" + RandomString(32);
        await using var session = store.LightweightSession();
        session.Store(new IdentityAccessToken { Id = TokenHash.Of(token), UserId = userId.Value, CreatedAt = clock.GetCurrentInstant() });
        await session.SaveChangesAsync(ct);
        return token;
    }

    public async Task LogoutAsync(string token, CancellationToken ct)
    {
        await using var session = store.LightweightSession();
        session.Delete<IdentityAccessToken>(TokenHash.Of(token));
        await session.SaveChangesAsync(ct);
    }

    // ── Helpers ─────────────────────────────────────────────────────────────────────────────────────────────────

    /// <summary>
    /// The <c>/3pid/onbind</c> notification for every invitation still pending for the address, published with the bind
    /// (<see cref="NotifyHomeserverOfBind"/>): it is sent iff the bind commits, and retried until the homeserver takes it.
    /// </summary>
    private async Task PublishPendingInvitesAsync(IDocumentSession session, IMessageBus bus, ThirdPartyId address, string mxid,
        JsonObject association, CancellationToken ct)
    {
        var pending = await session.Query<IdentityStoredInvite>()
            .Where(i => i.Medium == address.Medium && i.Address == address.Address && i.DeliveredAt == null)
            .ToListAsync(ct);
        if (pending.Count == 0) return;

        var invites = new JsonArray();
        foreach (var invite in pending.OrderBy(i => i.CreatedAt))
            invites.Add(new JsonObject
            {
                ["medium"] = address.Medium, ["address"] = address.Address, ["mxid"] = mxid,
                ["room_id"] = invite.RoomId, ["sender"] = invite.Sender, ["token"] = invite.Id,
                ["signed"] = Sign(new JsonObject { ["mxid"] = mxid, ["token"] = invite.Id }),
            });
        var notification = (JsonObject)association.DeepClone();
        notification.Remove("signatures");
        notification["invites"] = invites;

        await bus.PublishAsync(new NotifyHomeserverOfBind(mxid, Sign(notification).ToJsonString(), pending.Select(i => i.Id).ToArray()));
    }

    private SendIdentityMail Mail(ThirdPartyId to, string kind, string subject, string body) =>
        new(Guid.NewGuid(), clock.GetCurrentInstant().ToDateTimeOffset(), to.Medium, to.Address, kind, subject, body);

    private JsonObject Sign(JsonObject json) => Ed25519Signing.SignJson(json, Name, keys.SigningKey);

    private async Task<Result<IdentityValidationSession>> FindSessionAsync(IQuerySession session, string sid, string clientSecret,
        CancellationToken ct)
    {
        var found = string.IsNullOrEmpty(sid) ? null : await session.LoadAsync<IdentityValidationSession>(sid, ct);
        if (found is null || !CryptographicOperations.FixedTimeEquals(
                System.Text.Encoding.UTF8.GetBytes(found.ClientSecret), System.Text.Encoding.UTF8.GetBytes(clientSecret)))
            return new MatrixError(404, "M_NO_VALID_SESSION", "No valid session was found matching that sid and client secret");
        if (found.ModifiedAt + SessionLifetime <= clock.GetCurrentInstant())
            return new MatrixError(400, "M_SESSION_EXPIRED", "This validation session has expired: start a new one");
        return found;
    }

    private static string RandomString(int bytes) => UnpaddedBase64.EncodeUrlSafe(RandomNumberGenerator.GetBytes(bytes));
}
