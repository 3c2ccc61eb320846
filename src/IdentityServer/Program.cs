namespace Matrix.Rooms.IdentityServer;

/// <summary>The identity server as its own process (<c>dotnet run --project src/IdentityServer</c>).</summary>
internal static class IdentityServerProgram
{
    public static int Main(string[] args) => 0;
}
