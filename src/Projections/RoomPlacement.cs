using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace Matrix.Rooms.Projections;

/// <summary>
/// Which shard (database) a room lives in when rooms are spread over several (docs/scale-out.md "Sharding rooms"): the
/// first 8 bytes of SHA-256 over the room ID's UTF-8, read as a big-endian unsigned integer, modulo the shard count.
/// The one place the rule is written (the Host's <c>RoomShards</c> and the tooling both call it). Stable for a given
/// count; another count moves most rooms.
/// </summary>
public static class RoomPlacement
{
    public static int ShardOf(string roomId, int count)
    {
        if (count <= 1) return 0;
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(Encoding.UTF8.GetBytes(roomId), hash);
        return (int)(BinaryPrimitives.ReadUInt64BigEndian(hash) % (ulong)count);
    }
}
