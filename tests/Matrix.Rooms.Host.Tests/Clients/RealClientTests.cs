using Xunit.Abstractions;

namespace Matrix.Rooms.Host.Tests.Clients;

/// <summary>
/// Real Matrix clients nobody here wrote, against the Host as its own process over loopback HTTP: each runs the
/// mission's flows (tests/clients/…: accounts, invites seen through /sync, messages and scrollback, the e-mail invite
/// through the identity server and the mail drop, guests) and prints one line per step; the test fails with that
/// transcript and the Host's log.
/// </summary>
[Collection(ClientHostCollection.Name)]
public sealed class RealClientTests(ClientHostFixture host, ITestOutputHelper output)
{
    private static readonly TimeSpan Bound = TimeSpan.FromMinutes(4);

    [Fact]
    public async Task Matrix_js_sdk_as_a_full_client_completes_the_flows()
    {
        await ClientPrograms.EnsureNodePackagesAsync("js");
        var (exitCode, transcript) = await ClientPrograms.RunAsync("node", ["flows.mjs"], Path.Combine(ClientPrograms.ClientsDirectory, "js"),
            Environment(), Bound);

        Report(transcript);
        exitCode.Should().Be(0, $"matrix-js-sdk's flows:\n{transcript}\nThe Host's log:\n{host.Output}");
        transcript.Should().Contain("matrix-js-sdk: all flows passed");
    }

    [Fact]
    public async Task Matrix_nio_sync_loop_completes_the_flows()
    {
        await ClientPrograms.EnsureMatrixNioAsync();
        var (exitCode, transcript) = await ClientPrograms.RunAsync(ClientPrograms.DebianPython, ["flows.py"],
            Path.Combine(ClientPrograms.ClientsDirectory, "python"), Environment(), Bound);

        Report(transcript);
        exitCode.Should().Be(0, $"matrix-nio's flows:\n{transcript}\nThe Host's log:\n{host.Output}");
        transcript.Should().Contain("matrix-nio: all flows passed");
    }

    [Fact]
    public async Task A_matrix_bot_sdk_bot_joins_on_invite_and_answers_through_sync()
    {
        // matrix-bot-sdk imports a native crypto binding at load whose postinstall download is unreachable here:
        // tests/clients/bot/crypto-stand-in takes its place (npm overrides) and is never called (encryption off).
        await ClientPrograms.EnsureNodePackagesAsync("bot");
        var (exitCode, transcript) = await ClientPrograms.RunAsync("node", ["bot.js"], Path.Combine(ClientPrograms.ClientsDirectory, "bot"),
            Environment(), Bound);

        Report(transcript);
        exitCode.Should().Be(0, $"matrix-bot-sdk's flows:\n{transcript}\nThe Host's log:\n{host.Output}");
        transcript.Should().Contain("matrix-bot-sdk: all flows passed");
    }

    private Dictionary<string, string> Environment() => new()
    {
        ["HS"] = host.BaseUrl, ["MAILDROP"] = host.MailDrop, ["STEP_TIMEOUT_MS"] = "30000",
    };

    private void Report(string transcript)
    {
        foreach (var line in transcript.Split('\n', StringSplitOptions.RemoveEmptyEntries)) output.WriteLine(line);
    }
}
