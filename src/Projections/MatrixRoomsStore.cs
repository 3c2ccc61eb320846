using JasperFx;
using JasperFx.Events;
using JasperFx.Events.Projections;
using Marten;
using Matrix.Rooms.Domain.Events;
using Matrix.Rooms.Projections.Documents;
using Matrix.Rooms.Projections.Projections;
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
        if (schema is not null) options.DatabaseSchemaName = schema;
        options.AutoCreateSchemaObjects = AutoCreate.CreateOrUpdate;

        options.UseSystemTextJsonForSerialization(EnumStorage.AsString, Casing.CamelCase,
            configure: json => json.ConfigureForNodaTime(DateTimeZoneProviders.Tzdb));

        options.Events.StreamIdentity = StreamIdentity.AsString;
        foreach (var (clr, name) in MatrixEvent.StoredTypes)
            options.Events.MapEventType(clr, name);

        options.Schema.For<RoomStateEntry>().Index(x => x.RoomId);
        options.Schema.For<RoomMember>().Index(x => x.RoomId).Index(x => x.UserId);
        options.Schema.For<VisibilityTimelineEntry>().Index(x => x.RoomId);
        options.Schema.For<MembershipTimelineEntry>().Index(x => new { x.RoomId, x.UserId });
        options.Schema.For<RoomEventLocation>();
        options.Schema.For<ThirdPartyInvite>().Index(x => x.RoomId);

        options.Projections.Add(new RoomStateProjection(), ProjectionLifecycle.Inline);
        options.Projections.Add(new RoomMemberProjection(), ProjectionLifecycle.Inline);
        options.Projections.Add(new RoomHeadProjection(), ProjectionLifecycle.Inline);
        options.Projections.Add(new VisibilityTimelineProjection(), ProjectionLifecycle.Inline);
        options.Projections.Add(new EventLocationProjection(), ProjectionLifecycle.Inline);
        options.Projections.Add(new ThirdPartyInviteProjection(), ProjectionLifecycle.Inline);
        return options;
    }
}
