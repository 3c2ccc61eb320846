using System.Text.Json.Nodes;

namespace Matrix.Rooms.Domain.Tests.Conformance;

/// <summary>
/// Finds the authorization conformance vectors: the copy kept in the repository
/// (<c>tests/Matrix.Rooms.Domain.Tests/Conformance/</c>, found by walking up to <c>Matrix.Rooms.sln</c>) and, when the
/// repository sits next to the shared design folder, the original in <c>shared/conformance/</c>.
/// </summary>
public static class AuthCheckVectors
{
    public const string FileName = "gomatrixserverlib-eventauth.json";

    /// <summary>The repository's copy of the vectors.</summary>
    public static string RepositoryCopy =>
        Path.Combine(RepositoryRoot(), "tests", "Matrix.Rooms.Domain.Tests", "Conformance", FileName);

    /// <summary>The shared original, if some directory above the test binaries holds <c>shared/conformance/</c>.</summary>
    public static string? SharedOriginal =>
        Ancestors().Select(dir => Path.Combine(dir.FullName, "shared", "conformance", FileName)).FirstOrDefault(File.Exists);

    public static JsonArray Load() =>
        JsonNode.Parse(File.ReadAllText(RepositoryCopy)) as JsonArray
        ?? throw new InvalidOperationException($"{RepositoryCopy} is not a JSON array");

    public static string RepositoryRoot() =>
        Ancestors().FirstOrDefault(dir => File.Exists(Path.Combine(dir.FullName, "Matrix.Rooms.sln")))?.FullName
        ?? throw new InvalidOperationException($"No Matrix.Rooms.sln above {AppContext.BaseDirectory}");

    private static IEnumerable<DirectoryInfo> Ancestors()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            yield return dir;
    }
}
