using System.Text.Json.Nodes;
using Marten;
using Matrix.Rooms.Domain.Guests;
using Matrix.Rooms.Host.Features.Guests;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Routing.Patterns;
using Microsoft.Extensions.DependencyInjection;

namespace Matrix.Rooms.Host.Tests.Security;

/// <summary>
/// Who may do what, over real HTTP: a guest token on every endpoint that is not on the guest list (found from the
/// endpoint data source, so a new endpoint is covered the day it is mapped), a stranger in someone else's private
/// room, and tokens that were logged out.
/// </summary>
[Collection(SecurityCollection.Name)]
public sealed class AccessControlTests(SecurityFixture host)
{
    /// <summary>Client endpoints that take no access token at all: there is no guest to refuse.</summary>
    private static readonly string[] TokenlessClientRoutes =
        ["/_matrix/client/versions", "/register", "/register/available", "/login",
            "/profile/{userId}", "/profile/{userId}/displayname", "/profile/{userId}/avatar_url", "/directory/room/{roomAlias}",
            "/publicRooms", "/directory/list/room/{roomId}"];

    [Fact]
    public async Task A_guest_token_is_refused_on_every_endpoint_outside_the_guest_list_and_changes_nothing()
    {
        using var setup = host.NewClient();
        var (alice, aliceToken) = await setup.RegisterAsync();
        // The room a guest has the most rights in: public, world-readable, guests may join.
        var room = await setup.CreateRoomAsync(aliceToken, new JsonObject
        {
            ["preset"] = "public_chat",
            ["initial_state"] = new JsonArray(
                new JsonObject { ["type"] = "m.room.history_visibility", ["state_key"] = "", ["content"] = new JsonObject { ["history_visibility"] = "world_readable" } },
                new JsonObject { ["type"] = "m.room.guest_access", ["state_key"] = "", ["content"] = new JsonObject { ["guest_access"] = "can_join" } }),
        });
        var eventId = (await setup.SendMessageAsync(aliceToken, room, "hello")).Body["event_id"]!.GetValue<string>();
        var guest = await setup.PostAsync("/_matrix/client/v3/register?kind=guest", new JsonObject());
        var guestId = guest.Body["user_id"]!.GetValue<string>();
        var guestToken = guest.Body["access_token"]!.GetValue<string>();
        var before = await EventCountAsync(room);

        var checkedRoutes = new List<string>();
        foreach (var endpoint in host.App.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>())
        {
            var tag = endpoint.Metadata.GetMetadata<ClientEndpointTag>();
            if (tag is not null && GuestPolicy.CheckEndpoint(tag.Endpoint, isGuest: true) is null) continue; // on the guest list
            var template = endpoint.RoutePattern.RawText ?? "";
            var url = Fill(endpoint.RoutePattern, room, eventId, guestId);
            foreach (var method in endpoint.Metadata.GetMetadata<HttpMethodMetadata>()?.HttpMethods ?? ["GET"])
            {
                // A fresh address each: limits per address must not answer before the guest check does.
                using var client = host.NewClient();
                var anonymous = await client.SendAsync(new HttpMethod(method), url);
                // Takes an access token: without one it says so (a 401 without these codes is user-interactive auth).
                if (anonymous is not { Status: 401, ErrCode: "M_MISSING_TOKEN" or "M_UNAUTHORIZED" })
                {
                    if (template.StartsWith("/_matrix/client/", StringComparison.Ordinal))
                        TokenlessClientRoutes.Should().Contain(r => template.EndsWith(r, StringComparison.Ordinal),
                            $"{method} {template} answered {anonymous.Status} without a token, so it must be one that takes none");
                    continue;
                }
                var asGuest = await client.SendAsync(new HttpMethod(method), url, token: guestToken);
                asGuest.Status.Should().BeInRange(400, 499, $"{method} {template} must refuse a guest: {asGuest.Body.ToJsonString()}");
                if (template.StartsWith("/_matrix/client/", StringComparison.Ordinal))
                    (asGuest.Status, asGuest.ErrCode).Should().Be((403, "M_GUEST_ACCESS_FORBIDDEN"), $"{method} {template}");
                checkedRoutes.Add($"{method} {template}");
            }
        }

        checkedRoutes.Should().Contain(["POST /_matrix/client/v3/createRoom", "POST /_matrix/client/v3/rooms/{roomId}/invite",
            "POST /_matrix/client/api/v1/rooms/{roomId}/invite", "POST /_matrix/client/v3/account/3pid/bind",
            "GET /_matrix/client/v3/rooms/{roomId}/joined_members"]);
        checkedRoutes.Should().HaveCountGreaterThan(25, "every authenticated endpoint outside the guest list, under both prefixes");
        (await EventCountAsync(room)).Should().Be(before, "no refused request appended anything");
    }

    [Fact]
    public async Task A_stranger_can_neither_read_nor_change_someone_elses_private_room()
    {
        using var client = host.NewClient();
        var (alice, aliceToken) = await client.RegisterAsync();
        var (_, eveToken) = await client.RegisterAsync();
        var room = await client.CreateRoomAsync(aliceToken, new JsonObject { ["preset"] = "private_chat", ["name"] = "Private" });
        var secret = "for members only " + Guid.NewGuid().ToString("N");
        var eventId = (await client.SendMessageAsync(aliceToken, room, secret)).Body["event_id"]!.GetValue<string>();
        var before = await EventCountAsync(room);
        var r = $"/_matrix/client/v3/rooms/{Uri.EscapeDataString(room)}";

        foreach (var url in new[]
                 {
                     $"{r}/messages", $"{r}/state", $"{r}/state/m.room.name/", $"{r}/members", $"{r}/joined_members",
                     $"{r}/event/{Uri.EscapeDataString(eventId)}", $"{r}/context/{Uri.EscapeDataString(eventId)}", $"{r}/initialSync",
                 })
        {
            var read = await client.SendAsync(HttpMethod.Get, url, token: eveToken);
            (read.Status, read.ErrCode).Should().Be((403, "M_FORBIDDEN"), url);
            read.Body.ToJsonString().Should().NotContain(secret);
        }
        foreach (var (method, url, body) in new (HttpMethod, string, JsonObject)[]
                 {
                     (HttpMethod.Put, $"{r}/send/m.room.message/{Guid.NewGuid():N}", new JsonObject { ["msgtype"] = "m.text", ["body"] = "intrusion" }),
                     (HttpMethod.Put, $"{r}/state/m.room.name/", new JsonObject { ["name"] = "Taken over" }),
                     (HttpMethod.Post, $"{r}/invite", new JsonObject { ["user_id"] = "@friend:localhost" }),
                     (HttpMethod.Post, $"{r}/kick", new JsonObject { ["user_id"] = alice }),
                     (HttpMethod.Post, $"{r}/ban", new JsonObject { ["user_id"] = alice }),
                     (HttpMethod.Post, $"{r}/join", new JsonObject()),
                 })
        {
            var write = await client.SendAsync(method, url, body, eveToken);
            (write.Status, write.ErrCode).Should().Be((403, "M_FORBIDDEN"), $"{method} {url}: {write.Body.ToJsonString()}");
        }
        (await EventCountAsync(room)).Should().Be(before);
    }

    [Fact]
    public async Task A_logged_out_token_is_unknown_everywhere()
    {
        using var client = host.NewClient();
        var (alice, aliceToken) = await client.RegisterAsync();
        var room = await client.CreateRoomAsync(aliceToken);
        var token = (await client.LoginAsync(alice, "correct horse battery")).Body["access_token"]!.GetValue<string>();
        (await client.PostAsync("/_matrix/client/v3/logout", new JsonObject(), token)).Status.Should().Be(200);
        var before = await EventCountAsync(room);

        foreach (var response in new[]
                 {
                     await client.SendAsync(HttpMethod.Get, "/_matrix/client/v3/account/whoami", token: token),
                     await client.SendAsync(HttpMethod.Get, $"/_matrix/client/v3/account/whoami?access_token={token}"),
                     await client.SendMessageAsync(token, room, "after logout"),
                     await client.SendAsync(HttpMethod.Get, $"/_matrix/client/v3/rooms/{Uri.EscapeDataString(room)}/messages", token: token),
                     await client.PostAsync("/_matrix/client/v3/logout", new JsonObject(), token),
                     await client.SendAsync(HttpMethod.Get, "/_matrix/identity/v2/account", token: token),
                 })
            response.Status.Should().Be(401, response.Body.ToJsonString());
        (await EventCountAsync(room)).Should().Be(before);
        (await client.SendAsync(HttpMethod.Get, "/_matrix/client/v3/account/whoami", token: aliceToken)).Status
            .Should().Be(200, "logging one device out leaves the others");
    }

    private static string Fill(RoutePattern pattern, string room, string eventId, string userId)
    {
        var segments = pattern.PathSegments.Select(segment => string.Concat(segment.Parts.Select(part => part switch
        {
            RoutePatternLiteralPart literal => literal.Content,
            RoutePatternSeparatorPart separator => separator.Content,
            RoutePatternParameterPart parameter => Uri.EscapeDataString(parameter.Name switch
            {
                "roomId" or "roomIdOrAlias" => room,
                "eventId" => eventId,
                "eventType" => "m.room.topic",
                "userId" => userId,
                "txnId" => Guid.NewGuid().ToString("N"),
                _ => "x",
            }),
            _ => "",
        })));
        return "/" + string.Join('/', segments);
    }

    private async Task<int> EventCountAsync(string roomId)
    {
        await using var session = host.App.Services.GetRequiredService<IDocumentStore>().QuerySession();
        return (await session.Events.FetchStreamAsync(roomId)).Count;
    }
}
