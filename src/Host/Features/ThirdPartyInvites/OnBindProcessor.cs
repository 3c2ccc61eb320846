using System.Text.Json.Nodes;
using Matrix.Rooms.Domain.Errors;
using Matrix.Rooms.Domain.Identifiers;
using Matrix.Rooms.Domain.ThirdPartyInvites;
using Matrix.Rooms.Host.Features.Rooms;
using Matrix.Rooms.Host.Infrastructure;
using Microsoft.Extensions.Options;
using Wolverine;

namespace Matrix.Rooms.Host.Features.ThirdPartyInvites;

/// <summary>
/// Server-server API <c>/3pid/onbind</c>: "Used by identity servers to notify the homeserver that one of its users has
/// bound a third-party identifier successfully, including any pending room invites". Each invite becomes an
/// <see cref="ExchangeThirdPartyInvite"/>. As Synapse does, every invite is tried and the last refusal (if any) is the
/// answer. Nothing here is trusted: the authorization rules verify each <c>signed</c> block against the keys in the
/// room's <c>m.room.third_party_invite</c>, and each invite exchanges once.
/// </summary>
public sealed class OnBindProcessor(IServiceScopeFactory scopes, IOptions<MatrixRoomsOptions> options, ILogger<OnBindProcessor> logger)
{
    /// <summary>Exchanges each invite in the notification; null when all went through, else the last refusal.</summary>
    public async Task<MatrixError?> OnBindAsync(JsonObject notification, CancellationToken ct)
    {
        if (String(notification, "mxid") is not { } mxid) return MatrixError.MissingParam("mxid");
        if (!UserId.IsValid(mxid)) return MatrixError.InvalidParam($"Not a valid user ID: {mxid}");
        if (!string.Equals(UserId.ServerOf(mxid), options.Value.ServerName, StringComparison.OrdinalIgnoreCase))
            return MatrixError.InvalidParam($"{mxid} is not a user of this homeserver ({options.Value.ServerName})");
        if (notification["invites"] is not JsonArray invites) return MatrixError.MissingParam("invites");

        await using var scope = scopes.CreateAsyncScope();
        var bus = scope.ServiceProvider.GetRequiredService<IMessageBus>();
        MatrixError? last = null;
        foreach (var node in invites)
        {
            var error = node is JsonObject invite ? await ExchangeAsync(bus, scope.ServiceProvider.GetRequiredService<Infrastructure.Sharding.RoomShards>(), mxid, invite, ct) : MatrixError.BadJson("invites must hold objects");
            if (error is null) continue;
            logger.LogInformation("Third-party invite for {Mxid} not exchanged: {Error}", mxid, error);
            last = error;
        }
        return last;
    }

    private static async Task<MatrixError?> ExchangeAsync(IMessageBus bus, Infrastructure.Sharding.RoomShards shards, string mxid, JsonObject invite, CancellationToken ct)
    {
        if (String(invite, "room_id") is not { } roomId) return MatrixError.MissingParam("invites[].room_id");
        if (String(invite, "sender") is not { } sender) return MatrixError.MissingParam("invites[].sender");
        if (invite["signed"] is not JsonObject signed) return MatrixError.MissingParam("invites[].signed");
        if (String(invite, "mxid") is { } inviteMxid && inviteMxid != mxid)
            return MatrixError.InvalidParam($"An invite names {inviteMxid}, but the bind is for {mxid}");
        var result = await shards.InvokeAsync<RoomCommandResult>(bus, new ExchangeThirdPartyInvite
        {
            RoomId = roomId, Sender = sender, Mxid = mxid, Signed = (JsonObject)signed.DeepClone(),
        }, ct);
        return result.Error;
    }

    private static string? String(JsonObject json, string key) => json[key] is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;
}
