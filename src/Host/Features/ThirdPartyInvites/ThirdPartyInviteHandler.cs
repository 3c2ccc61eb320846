using Matrix.Rooms.Domain.Crypto;
using Marten;
using Matrix.Rooms.Domain.Authorization;
using Matrix.Rooms.Domain.Errors;
using Matrix.Rooms.Domain.Events;
using Matrix.Rooms.Domain.Identifiers;
using Matrix.Rooms.Domain.Rooms;
using Matrix.Rooms.Domain.ThirdPartyInvites;
using Matrix.Rooms.Host.Features.Rooms;
using Matrix.Rooms.Host.Infrastructure;
using Matrix.Rooms.Host.Features.ThirdPartyInvites.IdentityServerClients;
using Matrix.Rooms.IdentityServer;
using Matrix.Rooms.Projections.Documents;
using Microsoft.Extensions.Options;
using NodaTime;
using Wolverine;

namespace Matrix.Rooms.Host.Features.ThirdPartyInvites;

/// <summary>The exchange after its <c>key_validity_url</c> check: decide and append (kept apart so a retry never calls the identity server again).</summary>
public sealed record CompleteThirdPartyInviteExchange(ExchangeThirdPartyInvite Command);

/// <summary>
/// Wolverine handlers for the third-party invite commands. The two that talk to an identity server
/// (<see cref="InviteByThirdPartyId"/>, <see cref="ExchangeThirdPartyInvite"/>) open no transaction: they check,
/// call the identity server, and only then send the appending command (<see cref="AppendThirdPartyInvite"/>,
/// <see cref="InviteUser"/>, <see cref="CompleteThirdPartyInviteExchange"/>) — so nothing is appended when the identity
/// server fails, and a concurrency retry of the append repeats only the append.
/// </summary>
public static class ThirdPartyInviteHandler
{
    /// <summary>
    /// Invite by third-party identifier: validate → trusted <c>id_server</c> (else <c>403 M_SERVER_NOT_TRUSTED</c>, no
    /// request made) → rate limit → the authorization rules on a draft <c>m.room.third_party_invite</c> → <c>hash_details</c>
    /// and <c>lookup</c> (sha256 + pepper) → bound: an ordinary invite of that user; unbound: <c>store-invite</c> and the
    /// <c>m.room.third_party_invite</c> event.
    /// </summary>
    public static async Task<RoomCommandResult> Handle(InviteByThirdPartyId command, IQuerySession session, IdentityServers identityServers,
        InviteRateLimiter rateLimiter, IMessageBus bus, IClock clock, CancellationToken ct)
    {
        RoomCommandResult Fail(MatrixError error) => new(command.RoomId, null, error);

        var invitee = ThirdPartyInviteDecider.Validate(command);
        if (!invitee.IsSuccess) return Fail(invitee.Error!);
        var server = identityServers.Resolve(command.IdServer);
        if (!server.IsSuccess) return Fail(server.Error!);
        if (rateLimiter.TryAcquire(command.Sender) is { } limited) return Fail(limited);

        var draft = ThirdPartyInviteDecider.DraftPrecheck(command, clock.GetCurrentInstant());
        var (head, state) = await RoomWriter.LoadAsync(session, command.RoomId,
            EventAuth.AuthEventKeys(draft).Concat(ThirdPartyInviteDecider.RoomInfoKeys), ct);
        if (head is null) return Fail(MatrixError.NotFound($"Unknown room {command.RoomId}"));
        var precheck = ThirdPartyInviteDecider.Precheck(command, draft, state);
        if (!precheck.IsSuccess) return Fail(precheck.Error!);

        StoredInvite stored;
        try
        {
            var bound = await LookupAsync(server.Value, command.IdAccessToken, invitee.Value, ct);
            if (bound is not null)
                return await bus.InvokeAsync<RoomCommandResult>(new InviteUser { RoomId = command.RoomId, Sender = command.Sender, UserId = bound }, ct);
            stored = await server.Value.StoreInviteAsync(command.IdAccessToken, StoreInviteRequestFor(command, invitee.Value, state), ct);
        }
        catch (IdentityServerException e)
        {
            return Fail(e.ToClientError());
        }

        if (!OpaqueString.IsValid(stored.Token))
            return Fail(MatrixError.Unknown(502, $"The identity server {command.IdServer} returned an invalid invite token"));
        // The identity server's display name is what the room will see; should it carry the address, use our own redaction.
        var displayName = string.IsNullOrWhiteSpace(stored.DisplayName) || AddressPrivacy.Reveals(stored.DisplayName, invitee.Value)
            ? AddressPrivacy.Obfuscate(invitee.Value)
            : stored.DisplayName;
        return await bus.InvokeAsync<RoomCommandResult>(new AppendThirdPartyInvite
        {
            RoomId = command.RoomId, Sender = command.Sender, Token = stored.Token, DisplayName = displayName,
            PublicKeys = stored.PublicKeys, Invitee = invitee.Value, IdServer = command.IdServer,
        }, ct);
    }

    public static async Task<RoomCommandResult> Handle(AppendThirdPartyInvite command, IDocumentSession session, IClock clock,
        IOptions<MatrixRoomsOptions> options, ServerSignature signer, CancellationToken ct)
    {
        var draft = ThirdPartyInviteDecider.DraftInvite(command, clock.GetCurrentInstant());
        var (head, state, _) = await RoomWriter.LoadForWriteAsync(session, command.RoomId, ThirdPartyInviteDecider.StateNeeded(command, draft),
            options.Value.RoomWriteQueue, ct);
        if (head is null) return new RoomCommandResult(command.RoomId, null, MatrixError.NotFound($"Unknown room {command.RoomId}"));
        var decided = ThirdPartyInviteDecider.DecideInvite(command, draft, state, head.LastEventId);
        if (!decided.IsSuccess) return new RoomCommandResult(command.RoomId, null, decided.Error);

        var stored = RoomWriter.Append(session, head, [decided.Value], state, signer);
        if (!stored.IsSuccess) return new RoomCommandResult(command.RoomId, null, stored.Error);
        session.Store(new ThirdPartyInviteAddress
        {
            Id = $"{command.RoomId}|{command.Token}", RoomId = command.RoomId, Token = command.Token,
            Medium = command.Invitee.Medium, Address = command.Invitee.Address, IdServer = command.IdServer,
            Inviter = command.Sender, InvitedAt = decided.Value.OriginServerTs,
        });
        return new RoomCommandResult(command.RoomId, stored.Value[0].EventId, null);
    }

    /// <summary>
    /// Exchange on bind, step 1: find the key that signed the <c>signed</c> block and check it with its
    /// <c>key_validity_url</c> (spec: the homeserver "MUST validate that the public key used for signing is still
    /// valid"). A forged or wrong-key signature matches no key; the authorization rules refuse it in step 2.
    /// </summary>
    public static async Task<RoomCommandResult> Handle(ExchangeThirdPartyInvite command, IQuerySession session, IdentityServers identityServers,
        IMessageBus bus, CancellationToken ct)
    {
        if (!RoomId.IsValid(command.RoomId))
            return new RoomCommandResult(command.RoomId, null, MatrixError.InvalidParam($"Not a valid room ID: {command.RoomId}"));
        // The input policy before the lookup below: a token PostgreSQL cannot hold (NUL) must not reach a query.
        if (JsonInputPolicy.Check(command.Signed) is { } refused) return new RoomCommandResult(command.RoomId, null, refused);
        if (ThirdPartyInviteDecider.TokenOf(command) is { } token
            && await session.LoadAsync<RoomStateEntry>(RoomStateEntry.IdFor(command.RoomId, EventTypes.ThirdPartyInvite, token), ct)
                is { Event: ThirdPartyInviteEvent { IsRevoked: false } invite }
            && ThirdPartyInviteDecider.SigningKey(invite.Content, command.Signed) is { } key)
        {
            try
            {
                if (await identityServers.CheckKeyValidityAsync(key, ct) is { } invalid)
                    return new RoomCommandResult(command.RoomId, null, invalid);
            }
            catch (IdentityServerException e)
            {
                return new RoomCommandResult(command.RoomId, null, e.ToClientError());
            }
        }
        return await bus.InvokeAsync<RoomCommandResult>(new CompleteThirdPartyInviteExchange(command), ct);
    }

    /// <summary>
    /// Exchange on bind, step 2: the member invite, from the third-party invite's sender (the rules demand it, and it
    /// holds when that user has left: the third-party branch of the invite rules does not look at the sender's
    /// membership). Each invite is exchanged at most once (the projection's <see cref="ThirdPartyInvite"/> document).
    /// </summary>
    public static async Task<RoomCommandResult> Handle(CompleteThirdPartyInviteExchange message, IDocumentSession session, IClock clock,
        IOptions<MatrixRoomsOptions> options, ServerSignature signer, CancellationToken ct)
    {
        var command = message.Command;
        var token = ThirdPartyInviteDecider.TokenOf(command) ?? "";
        var (head, state, status) = await LoadForWriteAsync(session, command.RoomId, ThirdPartyInviteDecider.StateNeeded(command), token,
            options.Value.RoomWriteQueue, ct);
        if (head is null) return new RoomCommandResult(command.RoomId, null, MatrixError.NotFound($"Unknown room {command.RoomId}"));
        var decided = ThirdPartyInviteDecider.DecideExchange(command, state, status, head.LastEventId, clock.GetCurrentInstant());
        if (!decided.IsSuccess) return new RoomCommandResult(command.RoomId, null, decided.Error);
        var stored = RoomWriter.Append(session, head, [decided.Value], state, signer);
        return new RoomCommandResult(command.RoomId, stored.IsSuccess ? stored.Value[0].EventId : null, stored.Error);
    }

    /// <summary>Revocation: the invite's state event with empty content, with the power needed to send it.</summary>
    public static async Task<RoomCommandResult> Handle(RevokeThirdPartyInvite command, IDocumentSession session, IClock clock,
        IOptions<MatrixRoomsOptions> options, ServerSignature signer, CancellationToken ct)
    {
        var draft = ThirdPartyInviteDecider.DraftRevocation(command, clock.GetCurrentInstant());
        var (head, state, status) = await LoadForWriteAsync(session, command.RoomId, ThirdPartyInviteDecider.StateNeeded(command, draft), command.Token,
            options.Value.RoomWriteQueue, ct);
        if (head is null) return new RoomCommandResult(command.RoomId, null, MatrixError.NotFound($"Unknown room {command.RoomId}"));
        var decided = ThirdPartyInviteDecider.DecideRevocation(command, draft, state, status, head.LastEventId);
        if (!decided.IsSuccess) return new RoomCommandResult(command.RoomId, null, decided.Error);
        var stored = RoomWriter.Append(session, head, [decided.Value], state, signer);
        return new RoomCommandResult(command.RoomId, stored.IsSuccess ? stored.Value[0].EventId : null, stored.Error);
    }

    /// <summary>
    /// "sha256" when the server offers it (the spec's preferred and mandatory algorithm), else "none". Returns the bound
    /// user ID, or null.
    /// </summary>
    private static async Task<string?> LookupAsync(IIdentityServer server, string? accessToken, ThirdPartyId invitee, CancellationToken ct)
    {
        var details = await server.HashDetailsAsync(accessToken, ct);
        string query, algorithm;
        if (details.Algorithms.Contains(LookupHash.Sha256Algorithm))
            (algorithm, query) = (LookupHash.Sha256Algorithm, LookupHash.Sha256(invitee, details.LookupPepper));
        else if (details.Algorithms.Contains(LookupHash.NoneAlgorithm))
            (algorithm, query) = (LookupHash.NoneAlgorithm, LookupHash.None(invitee));
        else
            throw new IdentityServerException(server.Name, IdentityServerFailure.BadResponse, "it offers neither the sha256 nor the none lookup algorithm");
        var mappings = await server.LookupAsync(accessToken, algorithm, details.LookupPepper, [query], ct);
        return mappings.TryGetValue(query, out var mxid) && UserId.IsValid(mxid) ? mxid : null;
    }

    private static StoreInviteRequest StoreInviteRequestFor(InviteByThirdPartyId command, ThirdPartyId invitee, IAuthState state)
    {
        string? Content(string type, string field) => state.Get(new StateKey(type, ""))?.ContentString(field);
        var sender = state.Get(new StateKey(EventTypes.Member, command.Sender));
        return new StoreInviteRequest(invitee, command.RoomId, command.Sender)
        {
            RoomName = Content(EventTypes.Name, "name"),
            RoomAlias = Content("m.room.canonical_alias", "alias"),
            RoomAvatarUrl = Content("m.room.avatar", "url"),
            RoomJoinRules = Content(EventTypes.JoinRules, "join_rule"),
            RoomType = Content(EventTypes.Create, "type"),
            SenderDisplayName = sender?.ContentString("displayname"),
            SenderAvatarUrl = sender?.ContentString("avatar_url"),
        };
    }

    /// <summary>
    /// Under the room's lock (<see cref="RoomWriter.LoadForWriteAsync"/>): the room's head, the state entries, and the
    /// invite's status from the projection, in one round trip.
    /// </summary>
    private static async Task<(RoomHead? Head, DictionaryAuthState State, string? Status)> LoadForWriteAsync(IDocumentSession session,
        string roomId, IEnumerable<StateKey> keys, string token, TimeSpan queueTimeout, CancellationToken ct)
    {
        Task<ThirdPartyInvite?>? invite = null;
        var (head, state, _) = await RoomWriter.LoadForWriteAsync(session, roomId, keys, queueTimeout, ct,
            alsoLoad: batch => invite = batch.Load<ThirdPartyInvite>(ThirdPartyInvite.IdFor(roomId, token)));
        // No batch ran for a room ID that names no room.
        return (head, state, invite is null ? null : (await invite)?.Status);
    }
}
