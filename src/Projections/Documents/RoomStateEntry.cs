using System.Text.Json.Serialization;
using Matrix.Rooms.Domain.Events;

namespace Matrix.Rooms.Projections.Documents;

/// <summary>
/// One piece of a room's current state: the latest event for (room, type, state_key). Command handlers load exactly
/// the entries the authorization rules name (<c>EventAuth.AuthEventKeys</c>), so a decision reads the same few rows
/// in a 10-member room and in a 100,000-member room.
/// </summary>
public sealed record RoomStateEntry
{
    public required string Id { get; init; }
    public required string RoomId { get; init; }
    public required string Type { get; init; }
    public required string StateKey { get; init; }

    [JsonConverter(typeof(MatrixEventConverter))]
    public required MatrixEvent Event { get; init; }

    /// <summary>The room stream's version at which this event was appended.</summary>
    public long StreamVersion { get; init; }

    public static string IdFor(string roomId, string type, string stateKey) => $"{roomId}|{type}|{stateKey}";
    public static string IdFor(string roomId, StateKey key) => IdFor(roomId, key.Type, key.Key);
}
