using JasperFx;
using JasperFx.Events;
using JasperFx.Events.Projections;
using Marten;
using Matrix.Rooms.Domain.Events;
using Matrix.Rooms.Projections.Documents;
using Matrix.Rooms.Projections.Projections;
using Matrix.Rooms.Projections.TimeTravel;
using Microsoft.Extensions.Configuration;
using NodaTime;
using NodaTime.Serialization.SystemTextJson;
using Weasel.Core;

namespace Matrix.Rooms.Projections;

/// <summary>The one registration call for the engine's event store: event names, serialisation, documents and projections.</summary>
public static class MatrixRoomsStore
{
    /// <summary>
    /// Configures <paramref name="options"/> for Matrix.Rooms: one string-keyed stream per room, stored event types
    /// named by their Matrix type, NodaTime-aware JSON, the documents and the inline projections.
    /// </summary>
    public static StoreOptions AddMatrixRooms(this StoreOptions options, string connectionString, string? schema = null)
    {
        options.Connection(connectionString);
        return options.AddMatrixRoomsModel(schema);
    }

    /// <summary>Everything <see cref="AddMatrixRooms"/> configures but the connection (e.g. a rebuild's staging store on the same data source).</summary>
    public static StoreOptions AddMatrixRoomsModel(this StoreOptions options, string? schema = null)
    {
        if (schema is not null) options.DatabaseSchemaName = schema;
        options.AutoCreateSchemaObjects = AutoCreate.CreateOrUpdate;

        options.UseSystemTextJsonForSerialization(EnumStorage.AsString, Casing.CamelCase,
            configure: json => json.ConfigureForNodaTime(DateTimeZoneProviders.Tzdb).AllowMatrixDepth());

        options.Events.StreamIdentity = StreamIdentity.AsString;
        foreach (var (clr, name) in MatrixEvent.StoredTypes)
            options.Events.MapEventType(clr, name);

        // (room, type): a room's state without its member rows (sync's lazy-loaded members) reads two index ranges,
        // not every member of a large room.
        options.Schema.For<RoomStateEntry>().Index(x => x.RoomId).Index(x => new { x.RoomId, x.Type });
        // Room and membership as columns of their own (Marten duplicated fields) with an index on both: counting a
        // room's joined members (sync's summary, the public room directory) is an index-only scan, not a visit of
        // every member's row.
        options.Schema.For<RoomMember>().Duplicate(x => x.RoomId).Duplicate(x => x.Membership)
            .Index(x => new { x.RoomId, x.Membership }).Index(x => x.UserId);
        // (room, position): sync reads a room's visibility changes from its window on, and the last one before it.
        options.Schema.For<VisibilityTimelineEntry>().Index(x => x.RoomId).Index(x => new { x.RoomId, x.Position });
        options.Schema.For<MembershipTimelineEntry>().Index(x => new { x.RoomId, x.UserId });
        options.Schema.For<RoomEventLocation>();
        options.Schema.For<RoomRedaction>().Index(x => x.Redacts);
        options.Schema.For<ThirdPartyInvite>().Index(x => x.RoomId);
        options.Schema.For<ServerSigningKey>();
        options.Schema.For<RoomMemberCounts>();

        options.Projections.Add(new RoomStateProjection(), ProjectionLifecycle.Inline);
        options.Projections.Add(new RoomMemberProjection(), ProjectionLifecycle.Inline);
        options.Projections.Add(new RoomHeadProjection(), ProjectionLifecycle.Inline);
        options.Projections.Add(new VisibilityTimelineProjection(), ProjectionLifecycle.Inline);
        options.Projections.Add(new EventLocationProjection(), ProjectionLifecycle.Inline);
        options.Projections.Add(new ThirdPartyInviteProjection(), ProjectionLifecycle.Inline);
        options.Projections.Add(new RedactionProjection(), ProjectionLifecycle.Inline);
        options.Projections.Add(new RoomMemberCountProjection(), ProjectionLifecycle.Inline);
        // Time travel (the admin API, room-state, the rebuild's verification): folded on demand, never stored.
        options.Projections.Add(new RoomSnapshotProjection(), ProjectionLifecycle.Live);
        options.UseVersionedProjectionTables();
        return options;
    }

    /// <summary>
    /// Projection versions raised by configuration (<c>MatrixRooms:ProjectionVersions:&lt;name&gt;</c>, e.g. to rehearse a
    /// blue/green rebuild), each with tables of its own (<see cref="UseVersionedProjectionTables"/>).
    /// </summary>
    public static StoreOptions UseProjectionVersions(this StoreOptions options, IConfiguration? configuration)
    {
        var versions = configuration?.GetSection("MatrixRooms:ProjectionVersions");
        foreach (var projection in options.Projections.All.OfType<ProjectionBase>())
            if (uint.TryParse(versions?[projection.Name], out var version) && version > projection.Version)
                projection.Version = version;
        return options.UseVersionedProjectionTables();
    }

    /// <summary>
    /// Blue/green projections: a projection whose <c>Version</c> is above 1 keeps its documents in tables of their own
    /// (<c>mt_doc_roomstateentry_v2</c>, …) and its progress in its own rows (<c>room_state:V2:All</c>), so a changed
    /// projection is rebuilt beside the old one, which keeps serving from its tables until traffic moves over
    /// (docs/operations.md). Call again after changing a projection's version.
    /// </summary>
    public static StoreOptions UseVersionedProjectionTables(this StoreOptions options)
    {
        // A document policy (Marten's public hook on every mapping as it is built) reading the versions then, so the
        // versions set up to the store's creation count; calling this again adds nothing new.
        options.Policies.ForAllDocuments(mapping =>
        {
            foreach (var projection in options.Projections.All)
                if (projection is ProjectionBase { Version: > 1 } versioned && projection.PublishedTypes().Contains(mapping.DocumentType))
                    mapping.Alias = $"{mapping.DocumentType.Name.ToLowerInvariant()}_v{versioned.Version}";
        });
        return options;
    }
}
