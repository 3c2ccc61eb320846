using Matrix.Rooms.Host.Tests.Support;

namespace Matrix.Rooms.Host.Tests.Infrastructure;

/// <summary>
/// Production loads the Wolverine/Marten code committed under src/Host/Internal/Generated (TypeLoadMode.Auto): a stale
/// file would run yesterday's middleware around today's handler, so the committed code must be what
/// <c>codegen write</c> makes of the handlers now.
/// </summary>
public sealed class GeneratedCodeTests
{
    private const string Regenerate = "dotnet run --project src/Host -- codegen write";

    [Fact]
    public async Task The_committed_generated_code_is_what_codegen_write_produces_today()
    {
        var root = Path.Combine(Path.GetTempPath(), "matrix-rooms-codegen-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(root);
        try
        {
            // The documented command, writing to a throwaway directory instead of src/Host/Internal/Generated.
            var run = await HostProcess.RunSeparatelyAsync(new Dictionary<string, string>
            {
                ["ConnectionStrings__Marten"] = TestDatabase.NewDatabase("codegen"),
                ["MatrixRooms__GeneratedCodeDirectory"] = Path.Combine(root, "Internal", "Generated"),
            }, TimeSpan.FromMinutes(4), "codegen", "write");
            run.ExitCode.Should().Be(0, run.Output);

            var fresh = Files(Path.Combine(root, "Internal", "Generated"));
            var committed = Files(Path.Combine(TestDatabase.RepositoryRoot, "src", "Host", "Internal", "Generated"));
            fresh.Should().NotBeEmpty("codegen write generates the handlers' code");
            var stale = fresh.Keys.Union(committed.Keys)
                .Where(name => fresh.GetValueOrDefault(name) != committed.GetValueOrDefault(name))
                .Order().ToList();
            stale.Should().BeEmpty($"src/Host/Internal/Generated must match the handlers; regenerate it with `{Regenerate}` " +
                "(if the Host no longer compiles against it, delete the folder first) and commit the result");
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    private static Dictionary<string, string> Files(string directory) => !Directory.Exists(directory)
        ? []
        : Directory.EnumerateFiles(directory, "*.cs", SearchOption.AllDirectories)
            .ToDictionary(f => Path.GetRelativePath(directory, f).Replace('\\', '/'), f => File.ReadAllText(f).ReplaceLineEndings("\n"));
}
