namespace Matrix.Rooms.Tooling.Commands;

/// <summary>
/// Resolves a file argument the way the user typed it. <c>dotnet run --project src/Host</c> runs the Host in the project
/// folder, so a relative path is taken from the shell's directory (<c>PWD</c>), else from the working directory.
/// </summary>
public static class CommandPaths
{
    public static string Resolve(string path)
    {
        if (Path.IsPathRooted(path)) return path;
        var shell = Environment.GetEnvironmentVariable("PWD");
        return Path.GetFullPath(string.IsNullOrEmpty(shell) ? path : Path.Combine(shell, path));
    }
}
