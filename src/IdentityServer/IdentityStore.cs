using JasperFx;
using Marten;
using Matrix.Rooms.Domain.Events;
using NodaTime;
using NodaTime.Serialization.SystemTextJson;
using Weasel.Core;

namespace Matrix.Rooms.IdentityServer;

/// <summary>
/// The identity server's own Marten store (<c>AddMartenStore&lt;IIdentityStore&gt;</c>): its documents in a schema of
/// their own (<see cref="IdentityServerOptions.Schema"/>, default <c>identity</c>). Embedded it shares the Host's
/// database but nothing else; the homeserver's store does not know these documents, and this store knows none of the
/// homeserver's.
/// </summary>
public interface IIdentityStore : IDocumentStore;

internal static class IdentityStore
{
    public static StoreOptions Options(string connectionString, IdentityServerOptions settings, ILogger logger)
    {
        var options = new StoreOptions();
        options.Connection(connectionString);
        options.DatabaseSchemaName = settings.Schema;
        options.AutoCreateSchemaObjects = AutoCreate.CreateOrUpdate;
        options.UseSystemTextJsonForSerialization(EnumStorage.AsString, Casing.CamelCase,
            configure: json => json.ConfigureForNodaTime(DateTimeZoneProviders.Tzdb).AllowMatrixDepth());
        options.Schema.For<IdentityValidationSession>().Index(x => x.Address);
        options.Schema.For<IdentityAssociation>().Index(x => x.LookupHash);
        options.Schema.For<IdentityStoredInvite>().Index(x => x.Address).Index(x => x.EphemeralPublicKey);
        options.Schema.For<IdentityAccessToken>();
        options.Logger(new Matrix.Rooms.Web.ParameterFreeMartenLogger(logger));
        return options;
    }
}
