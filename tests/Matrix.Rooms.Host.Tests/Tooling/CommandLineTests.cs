using System.Text.Json.Nodes;
using Matrix.Rooms.Host.Tests.Support;

namespace Matrix.Rooms.Host.Tests.Tooling;

/// <summary>
/// The Host's command line as a user meets it (<c>dotnet Matrix.Rooms.Host.dll …</c>, each its own process): a
/// command's results and nothing else on standard output, logs on standard error at warning level unless
/// <c>--verbose</c>, no JasperFx discovery chatter, no raw Spectre markup, and one clear line with exit code 2 when the
/// machine has no PostgreSQL.
/// </summary>
public sealed class CommandLineTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromMinutes(2);

    private static Dictionary<string, string> OnNewDatabase() => new()
    {
        ["ConnectionStrings__Marten"] = TestDatabase.NewDatabase("cli"), ["MatrixRooms__PasswordHashIterations"] = "1000",
    };

    [Fact]
    public async Task Commands_write_their_results_to_standard_output_and_nothing_else()
    {
        var database = OnNewDatabase();
        var seeded = await HostProcess.RunSeparatelyAsync(database, Bound, "seed", "--bulk", "--rooms", "1", "--members", "2", "--events", "12", "--seed", "4242");
        seeded.ExitCode.Should().Be(0, seeded.Output);
        var room = seeded.StandardOutput.Split('\n').Select(l => l.Trim()).Single(l => l.StartsWith('!'));
        seeded.StandardOutput.Should().StartWith("Seeded 1 room, 12 events through the bulk path");

        var state = await HostProcess.RunSeparatelyAsync(database, Bound, "room-state", room, "--at-version", "2", "--compact");
        state.ExitCode.Should().Be(0, state.Output);
        state.StandardOutput.TrimEnd().Should().NotContain("\n", "the compact JSON is the whole output");
        JsonNode.Parse(state.StandardOutput)!["room_id"]!.GetValue<string>().Should().Be(room);

        // The server's own command path too: it starts Wolverine and Marten, which log plenty at Information.
        var demo = await HostProcess.RunSeparatelyAsync(database, Bound, "demo");
        demo.ExitCode.Should().Be(0, demo.Output);
        demo.StandardOutput.Should().Contain("Membership of").And.NotContain("info:").And.NotContain("serving");

        foreach (var run in new[] { seeded, state, demo })
        {
            run.Output.Should().NotContain("Searching '", "JasperFx's command discovery is not announced");
            run.StandardError.Should().NotContain("info:").And.NotContain("CREATE", "logs below warnings, schema SQL included, only with --verbose");
        }
    }

    [Fact]
    public async Task Verbose_brings_back_the_logs_on_standard_error()
    {
        var run = await HostProcess.RunSeparatelyAsync(OnNewDatabase(), Bound, "seed", "--bulk", "--rooms", "1", "--events", "10", "--seed", "77", "--verbose");
        run.ExitCode.Should().Be(0, run.Output);
        run.StandardError.Should().Contain("info: Matrix.Rooms.Tooling.Seeding.RoomSeeder");
        run.StandardOutput.Should().NotContain("info:").And.NotContain("Verbose flag is on");
    }

    [Fact]
    public async Task Markup_that_JasperFx_writes_as_text_is_rendered_not_printed()
    {
        var database = OnNewDatabase();
        (await HostProcess.RunSeparatelyAsync(database, Bound, "seed", "--bulk", "--rooms", "1", "--events", "10", "--seed", "78")).ExitCode.Should().Be(0);

        // Marten's own rebuild ends with AnsiConsole.WriteLine("[purple]Finished rebuild in … ms[/]").
        var run = await HostProcess.RunSeparatelyAsync(database, Bound, "projections", "rebuild", "--projection", "room_heads");
        run.ExitCode.Should().Be(0, run.Output);
        run.StandardOutput.Should().Contain("Finished rebuild in").And.NotContain("[purple]").And.NotContain("[/]");
    }

    [Theory]
    [InlineData("")] // the server
    [InlineData("rebuild")]
    public async Task Without_PostgreSQL_binaries_the_Host_says_so_in_one_line_and_exits_2(string command)
    {
        var root = Path.Combine(Path.GetTempPath(), "matrix-rooms-nopg-" + Guid.NewGuid().ToString("N")[..8]);
        var environment = new Dictionary<string, string>
        {
            ["ConnectionStrings__Marten"] = "",
            ["MatrixRooms__DataDirectory"] = Path.Combine(root, "data"),
            ["MatrixRooms__PostgresBinDirectory"] = Directory.CreateDirectory(Path.Combine(root, "no-binaries")).FullName,
        };
        try
        {
            var run = await HostProcess.RunSeparatelyAsync(environment, TimeSpan.FromSeconds(60), command.Length == 0 ? [] : [command]);
            run.ExitCode.Should().Be(2, run.Output);
            run.StandardOutput.Should().BeEmpty();
            run.StandardError.TrimEnd().Should().Contain("'postgresql'").And.NotContain("\n", "one line, no stack trace");
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }
}
