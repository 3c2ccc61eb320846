using System.Text.Json.Nodes;
using FluentAssertions;
using Marten;
using Matrix.Rooms.Host.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace Matrix.Rooms.Host.Tests.Infrastructure;

/// <summary>
/// The Host creates every table at start-up: a document type Marten only met on its first use would get its table then,
/// and several nodes starting on a fresh database raced to create it (a registration answered 500 in the cluster bench).
/// </summary>
public sealed class SchemaAtStartupTests(SchemaAtStartupTests.FreshHost fixture) : IClassFixture<SchemaAtStartupTests.FreshHost>
{
    /// <summary>A Host on a database of its own, so nothing has used any document type before the test.</summary>
    public sealed class FreshHost : HostFixture;

    private const string V3 = "/_matrix/client/v3";

    [Fact]
    public async Task Using_the_api_creates_no_table_that_start_up_did_not()
    {
        var atStartup = await TablesAsync();
        atStartup.Should().Contain(t => t.Contains(".mt_doc_"), "the start-up created the document tables");

        var alice = await fixture.RegisterAsync();
        var bob = await fixture.RegisterAsync();
        var (_, whoami) = await fixture.GetAsync($"{V3}/account/whoami", alice.Token);
        var device = whoami["device_id"]!.GetValue<string>();
        var room = await fixture.CreateRoomAsync(alice.Token, new JsonObject
        {
            ["preset"] = "public_chat", ["room_alias_name"] = "schema" + Guid.NewGuid().ToString("N")[..8], ["visibility"] = "public",
        });
        var r = $"{V3}/rooms/{HostFixture.Room(room)}";
        var user = Uri.EscapeDataString(alice.UserId);
        (await fixture.JoinAsync(bob.Token, room)).Status.Should().Be(200);
        var message = await fixture.SendMessageAsync(alice.Token, room, "hello");
        var calls = new (HttpMethod Method, string Url, string? Body, string Token)[]
        {
            (HttpMethod.Put, $"{V3}/profile/{user}/displayname", """{"displayname":"Alice"}""", alice.Token),
            (HttpMethod.Put, $"{V3}/devices/{Uri.EscapeDataString(device)}", """{"display_name":"phone"}""", alice.Token),
            (HttpMethod.Put, $"{V3}/pushrules/global/override/.m.rule.master/enabled", """{"enabled":true}""", alice.Token),
            (HttpMethod.Put, $"{V3}/user/{user}/account_data/m.test", """{"a":1}""", alice.Token),
            (HttpMethod.Put, $"{V3}/user/{user}/rooms/{HostFixture.Room(room)}/account_data/m.test", """{"a":1}""", alice.Token),
            (HttpMethod.Post, $"{V3}/user/{user}/filter", """{"room":{"timeline":{"limit":5}}}""", alice.Token),
            (HttpMethod.Put, $"{r}/typing/{user}", """{"typing":true,"timeout":1000}""", alice.Token),
            (HttpMethod.Post, $"{r}/receipt/m.read/{Uri.EscapeDataString(message)}", "{}", alice.Token),
            (HttpMethod.Post, $"{r}/leave", "{}", bob.Token),
            (HttpMethod.Post, $"{r}/forget", "{}", bob.Token),
            (HttpMethod.Get, $"{V3}/sync", null, alice.Token),
            (HttpMethod.Get, $"{r}/messages?dir=b", null, alice.Token),
            (HttpMethod.Get, $"{V3}/publicRooms", null, alice.Token),
        };
        foreach (var (method, url, body, token) in calls)
            (await fixture.SendAsync(method, url, body, token)).Status.Should().Be(200, $"{method} {url}");

        (await TablesAsync()).Should().BeEquivalentTo(atStartup, "every table a request needs was created at start-up");
    }

    private async Task<IReadOnlyList<string>> TablesAsync()
    {
        using var session = fixture.Host.Services.GetRequiredService<IDocumentStore>().QuerySession();
        return await session.AdvancedSql.QueryAsync<string>(
            "select table_schema || '.' || table_name from information_schema.tables where table_schema not in ('pg_catalog', 'information_schema') order by 1",
            CancellationToken.None);
    }
}
