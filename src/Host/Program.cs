using Matrix.Rooms.Host.Infrastructure;

var builder = WebApplication.CreateBuilder(args);
builder.AddMatrixRooms();

var app = builder.Build();
app.UseMatrixRoomsApi();

return await app.RunMatrixRoomsAsync(args);

/// <summary>Entry point; public so tests can host it (Alba).</summary>
public partial class Program;
