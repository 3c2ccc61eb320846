using System.Net;
using System.Text.Json.Nodes;
using Marten;
using Matrix.Rooms.Domain.Events;
using Matrix.Rooms.Domain.Rooms;
using Matrix.Rooms.Host.Features.Admin;
using Matrix.Rooms.Host.Features.Rooms;
using Matrix.Rooms.Projections.TimeTravel;
using Matrix.Rooms.Tooling.Seeding;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using NodaTime;

namespace Matrix.Rooms.Host.Tests.Tooling;

/// <summary>Time travel: the room's state at a version or an instant, folded from its stream by live aggregation.</summary>
[Collection(ToolingCollection.Name)]
public sealed class TimeTravelTests(ToolingFixture fixture)
{
    private RoomTimeTravel TimeTravel => fixture.Service<RoomTimeTravel>();

    [Fact]
    public async Task The_state_at_each_version_follows_the_timeline()
    {
        var alice = $"@alice{Guid.NewGuid():N}"[..20] + ":localhost";
        var bob = $"@bob{Guid.NewGuid():N}"[..18] + ":localhost";
        var bus = fixture.Bus;
        var roomId = (await bus.InvokeAsync<CreateRoomResult>(new CreateRoom { Creator = alice, Preset = Presets.PrivateChat, Name = "Tea", RoomVersion = "10" })).RoomId!;
        var created = await VersionOf(roomId);

        async Task Send(RoomCommand command)
        {
            var result = await bus.InvokeAsync<RoomCommandResult>(command);
            result.Error.Should().BeNull();
        }
        await Send(new InviteUser { RoomId = roomId, Sender = alice, UserId = bob });
        await Send(new JoinRoom { RoomId = roomId, Sender = bob, DisplayName = "Bob" });
        await Send(State(roomId, alice, EventTypes.HistoryVisibility, "", new JsonObject { ["history_visibility"] = "joined" }));
        await Send(State(roomId, alice, EventTypes.ThirdPartyInvite, "tok1", Invite("c…@e…")));
        await Send(State(roomId, alice, EventTypes.ThirdPartyInvite, "tok2", Invite("d…@e…")));
        await Send(State(roomId, alice, EventTypes.ThirdPartyInvite, "tok1", new JsonObject()));
        await Send(new BanUser { RoomId = roomId, Sender = alice, UserId = bob });

        var atCreation = await At(roomId, created);
        atCreation.Members.Keys.Should().Equal(alice);
        (atCreation.JoinRule, atCreation.HistoryVisibility, atCreation.GuestAccess, atCreation.Name).Should().Be(("invite", "shared", "can_join", "Tea"));
        atCreation.PendingThirdPartyInvites.Should().BeEmpty();
        atCreation.PowerLevels!["users"]![alice]!.GetValue<int>().Should().Be(100);

        (await At(roomId, created + 1)).Members[bob].Membership.Should().Be("invite");
        var joined = await At(roomId, created + 2);
        (joined.Members[bob].Membership, joined.Members[bob].DisplayName).Should().Be(("join", "Bob"));
        joined.MemberCounts.Should().Equal(new SortedDictionary<string, int> { ["join"] = 2 });
        (await At(roomId, created + 3)).HistoryVisibility.Should().Be("joined");
        (await At(roomId, created + 5)).PendingThirdPartyInvites.Select(p => (p.Token, p.DisplayName)).Should().Equal(("tok1", "c…@e…"), ("tok2", "d…@e…"));
        var revoked = await At(roomId, created + 6);
        revoked.PendingThirdPartyInvites.Select(p => p.Token).Should().Equal("tok2");
        revoked.RevokedThirdPartyInvites.Should().Equal("tok1");
        var latest = (await TimeTravel.StateAtAsync(roomId, RoomPoint.Latest)).Value;
        (latest.StreamVersion, latest.Members[bob].Membership).Should().Be((created + 7, "ban"));
        latest.ToJson().ToJsonString().Should().Be((await At(roomId, created + 7)).ToJson().ToJsonString());
    }

    [Fact]
    public async Task The_state_at_an_instant_is_the_state_after_the_last_event_stored_by_then()
    {
        var store = ToolingFixture.NewStore("instant");
        var seeded = await ToolingFixture.SeedBulkAsync(store, new SeedOptions { Rooms = 1, Members = 6, Events = 80, Seed = 31 });
        var roomId = seeded.RoomIds[0];
        await using var session = store.QuerySession();
        var events = await session.Events.FetchStreamAsync(roomId);
        var timeTravel = new RoomTimeTravel(store);
        var random = new Random(31);
        foreach (var k in new[] { 1, events.Count }.Concat(Enumerable.Range(0, 6).Select(_ => random.Next(1, events.Count + 1))))
        {
            var instant = ((MatrixEvent)events[k - 1].Data).OriginServerTs;
            var byInstant = (await timeTravel.StateAtAsync(roomId, new RoomPoint.AtInstant(instant))).Value;
            var byVersion = (await timeTravel.StateAtAsync(roomId, new RoomPoint.AtVersion(k))).Value;
            byInstant.StreamVersion.Should().Be(k, $"event {k} was stored at {instant} and the next one later");
            byInstant.ToJson().ToJsonString().Should().Be(byVersion.ToJson().ToJsonString());
        }
        var before = ((MatrixEvent)events[0].Data).OriginServerTs - Duration.FromSeconds(1);
        var error = (await timeTravel.StateAtAsync(roomId, new RoomPoint.AtInstant(before))).Error!;
        (error.Status, error.ErrCode).Should().Be((404, "M_NOT_FOUND"));
        error.Error.Should().Contain("did not exist yet");
    }

    [Theory]
    [InlineData("0", null, "whole number")]
    [InlineData("abc", null, "whole number")]
    [InlineData("-3", null, "whole number")]
    [InlineData(null, "yesterday", "not an instant")]
    [InlineData("3", "2026-01-01T00:00:00Z", "not both")]
    public void Bad_points_are_refused_with_a_reason(string? atVersion, string? at, string reason)
    {
        var parsed = RoomPoint.Parse(atVersion, at);
        parsed.IsSuccess.Should().BeFalse();
        parsed.Error!.ErrCode.Should().Be("M_INVALID_PARAM");
        parsed.Error.Error.Should().Contain(reason);
    }

    [Fact]
    public async Task Unknown_rooms_bad_ids_and_versions_past_the_end_are_errors()
    {
        (await TimeTravel.StateAtAsync("!nosuchroom:localhost", RoomPoint.Latest)).Error!.ErrCode.Should().Be("M_NOT_FOUND");
        (await TimeTravel.StateAtAsync("not-a-room", RoomPoint.Latest)).Error!.ErrCode.Should().Be("M_INVALID_PARAM");
        var roomId = (await fixture.Bus.InvokeAsync<CreateRoomResult>(new CreateRoom { Creator = "@tt_owner:localhost" })).RoomId!;
        var version = await VersionOf(roomId);
        var error = (await TimeTravel.StateAtAsync(roomId, new RoomPoint.AtVersion(version + 1))).Error!;
        error.ErrCode.Should().Be("M_INVALID_PARAM");
        error.Error.Should().Contain($"has {version} events");
    }

    [Fact]
    public async Task The_admin_endpoint_answers_loopback_callers_only()
    {
        var roomId = (await fixture.Bus.InvokeAsync<CreateRoomResult>(new CreateRoom { Creator = "@admin_tt:localhost", Name = "Admin" })).RoomId!;
        var url = $"{AdminApi.Prefix}/rooms/{Uri.EscapeDataString(roomId)}/state?at_version=2";

        var (status, body) = await Get(url, IPAddress.Loopback);
        status.Should().Be(200, body.ToJsonString());
        (body["stream_version"]!.GetValue<long>(), body["members"]!["@admin_tt:localhost"]!["membership"]!.GetValue<string>()).Should().Be((2, "join"));

        (status, body) = await Get(url, IPAddress.Parse("203.0.113.7"));
        (status, body["errcode"]!.GetValue<string>()).Should().Be((403, "M_FORBIDDEN"));
        (status, _) = await Get(url, IPAddress.Loopback, forwardedFor: "198.51.100.1");
        status.Should().Be(403, "a request relayed by a local proxy is not a loopback caller");
        (status, body) = await Get($"{AdminApi.Prefix}/rooms/{Uri.EscapeDataString(roomId)}/state?at_version=x", IPAddress.Loopback);
        (status, body["errcode"]!.GetValue<string>()).Should().Be((400, "M_INVALID_PARAM"));
        (status, body) = await Get($"{AdminApi.Prefix}/rooms/{Uri.EscapeDataString("!missing:localhost")}/state", IPAddress.Loopback);
        (status, body["errcode"]!.GetValue<string>()).Should().Be((404, "M_NOT_FOUND"));
    }

    [Fact]
    public void With_a_token_configured_the_admin_api_needs_it_from_everywhere()
    {
        var services = new ServiceCollection().AddSingleton(Options.Create(new AdminApiOptions { Token = "s3cret-token" })).BuildServiceProvider();
        HttpContext Request(string? authorization, IPAddress remote)
        {
            var http = new DefaultHttpContext { RequestServices = services };
            http.Connection.RemoteIpAddress = remote;
            if (authorization is not null) http.Request.Headers.Authorization = authorization;
            return http;
        }
        AdminApi.Refusal(Request(null, IPAddress.Loopback))!.ErrCode.Should().Be("M_MISSING_TOKEN");
        AdminApi.Refusal(Request("Bearer wrong", IPAddress.Loopback))!.ErrCode.Should().Be("M_UNKNOWN_TOKEN");
        AdminApi.Refusal(Request("Bearer s3cret-token", IPAddress.Parse("203.0.113.7"))).Should().BeNull();
    }

    private async Task<(int Status, JsonObject Body)> Get(string url, IPAddress remote, string? forwardedFor = null)
    {
        var result = await fixture.Host.Scenario(s =>
        {
            s.Get.Url(url);
            s.ConfigureHttpContext(c => c.Connection.RemoteIpAddress = remote);
            if (forwardedFor is not null) s.WithRequestHeader("X-Forwarded-For", forwardedFor);
            s.IgnoreStatusCode();
        });
        return (result.Context.Response.StatusCode, JsonNode.Parse(await result.ReadAsTextAsync()) as JsonObject ?? new JsonObject());
    }

    private async Task<RoomStateSummary> At(string roomId, long version)
    {
        var result = await TimeTravel.StateAtAsync(roomId, new RoomPoint.AtVersion(version));
        result.Error.Should().BeNull();
        result.Value.StreamVersion.Should().Be(version);
        return result.Value;
    }

    private async Task<long> VersionOf(string roomId)
    {
        await using var session = fixture.Store.QuerySession();
        return (await session.Events.FetchStreamStateAsync(roomId))!.Version;
    }

    private static SetRoomState State(string roomId, string sender, string type, string key, JsonObject content) =>
        new() { RoomId = roomId, Sender = sender, EventType = type, StateKey = key, Content = content };

    private static JsonObject Invite(string displayName) => new()
    {
        ["display_name"] = displayName,
        ["key_validity_url"] = "https://identity.example.org/_matrix/identity/v2/pubkey/isvalid",
        ["public_key"] = "dGhpcyBpcyBub3QgYSByZWFsIGtleSBidXQgYmFzZTY0",
    };
}
