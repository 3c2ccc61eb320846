using System.Text.Json.Nodes;
using Matrix.Rooms.Host.Tests.Support;

namespace Matrix.Rooms.Host.Tests.Sync;

/// <summary>
/// A brand-new server: the first client syncs before any room exists. /sync reads positions from the event store, which
/// Marten used to create only at the first append (the sync answered 500 until then; found by matrix-js-sdk run alone).
/// </summary>
public sealed class FreshDatabaseSyncTests : IAsyncLifetime
{
    private readonly HostFixture _host = new();

    public Task InitializeAsync() => _host.InitializeAsync();

    public Task DisposeAsync() => _host.DisposeAsync();

    [Fact]
    public async Task The_first_sync_on_a_fresh_database_answers_an_empty_sync()
    {
        var (_, token) = await _host.RegisterAsync();

        var (status, body) = await _host.GetAsync("/_matrix/client/v3/sync?timeout=0", token);

        status.Should().Be(200, body.ToJsonString());
        body["next_batch"]!.GetValue<string>().Should().NotBeEmpty();
        var (again, incremental) = await _host.GetAsync($"/_matrix/client/v3/sync?timeout=0&since={Uri.EscapeDataString(body["next_batch"]!.GetValue<string>())}", token);
        again.Should().Be(200, incremental.ToJsonString());
    }
}
