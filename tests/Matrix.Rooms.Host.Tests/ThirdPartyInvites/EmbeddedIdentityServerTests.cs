using System.Text.Json.Nodes;
using Matrix.Rooms.Domain.Crypto;
using Matrix.Rooms.Domain.ThirdPartyInvites;
using Matrix.Rooms.Host.Features.ThirdPartyInvites.IdentityServerClients;
using Matrix.Rooms.IdentityServer;
using Matrix.Rooms.Host.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Matrix.Rooms.Host.Tests.ThirdPartyInvites;

/// <summary>The embedded identity server's own API (<c>/_matrix/identity/v2</c>) over HTTP, with its errors.</summary>
[Collection(ThirdPartyInviteCollection.Name)]
public sealed class EmbeddedIdentityServerTests(ThirdPartyInviteFixture host)
{
    private const string Api = "/_matrix/identity/v2";

    [Fact]
    public async Task Authenticated_endpoints_answer_401_M_UNAUTHORIZED_without_a_valid_token()
    {
        foreach (var token in new string?[] { null, "nonsense" })
        {
            var (status, body) = await host.SendAsync(HttpMethod.Get, $"{Api}/hash_details", token: token);
            (status, body["errcode"]!.GetValue<string>()).Should().Be((401, "M_UNAUTHORIZED"));
            (status, body) = await host.PostAsync($"{Api}/lookup", new JsonObject(), token);
            (status, body["errcode"]!.GetValue<string>()).Should().Be((401, "M_UNAUTHORIZED"));
        }
        (await host.SendAsync(HttpMethod.Get, Api)).Status.Should().Be(200);
    }

    [Fact]
    public async Task Lookup_with_sha256_and_the_pepper_finds_bound_addresses_only()
    {
        var (bob, bobToken) = await host.RegisterAsync();
        var bound = ThirdPartyInviteFixture.NewAddress();
        var unbound = ThirdPartyInviteFixture.NewAddress();
        await host.BindAsync(bound, bobToken);

        var (_, details) = await host.SendAsync(HttpMethod.Get, $"{Api}/hash_details", token: bobToken);
        var pepper = details["lookup_pepper"]!.GetValue<string>();
        details["algorithms"]!.AsArray().Select(a => a!.GetValue<string>()).Should().Contain(["sha256", "none"]);
        var boundHash = LookupHash.Sha256(bound, "email", pepper);
        var unboundHash = LookupHash.Sha256(unbound, "email", pepper);

        var found = await host.PostOkAsync($"{Api}/lookup", new JsonObject
            { ["algorithm"] = "sha256", ["pepper"] = pepper, ["addresses"] = new JsonArray(boundHash, unboundHash) }, bobToken);
        found["mappings"]!.AsObject().Select(kv => (kv.Key, kv.Value!.GetValue<string>())).Should().Equal((boundHash, bob));

        found = await host.PostOkAsync($"{Api}/lookup", new JsonObject
            { ["algorithm"] = "none", ["pepper"] = pepper, ["addresses"] = new JsonArray($"{bound} email") }, bobToken);
        found["mappings"]![$"{bound} email"]!.GetValue<string>().Should().Be(bob);

        var (status, body) = await host.PostAsync($"{Api}/lookup", new JsonObject
            { ["algorithm"] = "sha256", ["pepper"] = "stale", ["addresses"] = new JsonArray(boundHash) }, bobToken);
        (status, body["errcode"]!.GetValue<string>()).Should().Be((400, "M_INVALID_PEPPER"));
        (status, body) = await host.PostAsync($"{Api}/lookup", new JsonObject
            { ["algorithm"] = "md5", ["pepper"] = pepper, ["addresses"] = new JsonArray(boundHash) }, bobToken);
        (status, body["errcode"]!.GetValue<string>()).Should().Be((400, "M_INVALID_PARAM"));
    }

    [Fact]
    public async Task Public_keys_and_their_validity()
    {
        var (status, key) = await host.SendAsync(HttpMethod.Get, $"{Api}/pubkey/ed25519:0");
        status.Should().Be(200);
        var publicKey = key["public_key"]!.GetValue<string>();
        UnpaddedBase64.Decode(publicKey).Should().HaveCount(32);

        (await host.SendAsync(HttpMethod.Get, $"{Api}/pubkey/isvalid?public_key={Uri.EscapeDataString(publicKey)}")).Body["valid"]!
            .GetValue<bool>().Should().BeTrue();
        using var other = Ed25519SigningKey.Generate();
        (await host.SendAsync(HttpMethod.Get, $"{Api}/pubkey/isvalid?public_key={Uri.EscapeDataString(other.PublicKeyBase64)}")).Body["valid"]!
            .GetValue<bool>().Should().BeFalse();
        var (missing, error) = await host.SendAsync(HttpMethod.Get, $"{Api}/pubkey/ed25519:nope");
        (missing, error["errcode"]!.GetValue<string>()).Should().Be((404, "M_NOT_FOUND"));

        // store-invite's ephemeral key is valid on pubkey/ephemeral/isvalid.
        var (alice, aliceToken) = await host.RegisterAsync();
        var stored = await host.PostOkAsync($"{Api}/store-invite", new JsonObject
        {
            ["medium"] = "email", ["address"] = ThirdPartyInviteFixture.NewAddress(), ["room_id"] = "!r:localhost", ["sender"] = alice,
        }, aliceToken);
        var keys = stored["public_keys"]!.AsArray();
        keys[0]!["public_key"]!.GetValue<string>().Should().Be(publicKey);
        var ephemeral = keys[1]!["public_key"]!.GetValue<string>();
        // The configured public URL, not the request's Host header (which the client chooses).
        var publicBaseUrl = host.Host.Services.GetRequiredService<EmbeddedIdentityServerNames>().PublicBaseUrl;
        keys[1]!["key_validity_url"]!.GetValue<string>().Should().Be($"{publicBaseUrl}/_matrix/identity/v2/pubkey/ephemeral/isvalid");
        (await host.SendAsync(HttpMethod.Get, $"{Api}/pubkey/ephemeral/isvalid?public_key={Uri.EscapeDataString(ephemeral)}")).Body["valid"]!
            .GetValue<bool>().Should().BeTrue();
        (await host.SendAsync(HttpMethod.Get, $"{Api}/pubkey/ephemeral/isvalid?public_key={Uri.EscapeDataString(publicKey)}")).Body["valid"]!
            .GetValue<bool>().Should().BeFalse();
    }

    [Fact]
    public async Task Store_invite_refuses_other_media_and_bound_addresses()
    {
        var (carol, carolToken) = await host.RegisterAsync();
        var (status, body) = await host.PostAsync($"{Api}/store-invite", new JsonObject
            { ["medium"] = "msisdn", ["address"] = "447700900123", ["room_id"] = "!r:localhost", ["sender"] = carol }, carolToken);
        (status, body["errcode"]!.GetValue<string>()).Should().Be((400, "M_UNRECOGNIZED"));

        var address = ThirdPartyInviteFixture.NewAddress();
        await host.BindAsync(address, carolToken);
        (status, body) = await host.PostAsync($"{Api}/store-invite", new JsonObject
            { ["medium"] = "email", ["address"] = address, ["room_id"] = "!r:localhost", ["sender"] = carol }, carolToken);
        (status, body["errcode"]!.GetValue<string>(), body["mxid"]!.GetValue<string>()).Should().Be((400, "M_THREEPID_IN_USE", carol));

        // Invitations are stored only by their sender.
        (status, body) = await host.PostAsync($"{Api}/store-invite", new JsonObject
            { ["medium"] = "email", ["address"] = ThirdPartyInviteFixture.NewAddress(), ["room_id"] = "!r:localhost", ["sender"] = "@someone.else:localhost" }, carolToken);
        (status, body["errcode"]!.GetValue<string>()).Should().Be((403, "M_FORBIDDEN"));
    }

    [Fact]
    public async Task Email_validation_errors()
    {
        var (bob, bobToken) = await host.RegisterAsync();
        var address = ThirdPartyInviteFixture.NewAddress();
        var (status, body) = await host.PostAsync($"{Api}/validate/email/requestToken",
            new JsonObject { ["client_secret"] = "s3cret", ["email"] = "nope", ["send_attempt"] = 1 }, bobToken);
        (status, body["errcode"]!.GetValue<string>()).Should().Be((400, "M_INVALID_EMAIL"));
        (status, body) = await host.PostAsync($"{Api}/validate/email/requestToken",
            new JsonObject { ["client_secret"] = "not/valid", ["email"] = address, ["send_attempt"] = 1 }, bobToken);
        (status, body["errcode"]!.GetValue<string>()).Should().Be((400, "M_INVALID_PARAM"));

        var sid = (await host.PostOkAsync($"{Api}/validate/email/requestToken",
            new JsonObject { ["client_secret"] = "s3cret", ["email"] = address, ["send_attempt"] = 1 }, bobToken))["sid"]!.GetValue<string>();
        var mail = await ThirdPartyInviteFixture.MailAsync(host.MailDrop, text => text.Contains($"Session: {sid}"));
        var mails = Directory.GetFiles(host.MailDrop, "*.eml").Length;
        // The same send_attempt again: same session, no second e-mail.
        (await host.PostOkAsync($"{Api}/validate/email/requestToken",
            new JsonObject { ["client_secret"] = "s3cret", ["email"] = address, ["send_attempt"] = 1 }, bobToken))["sid"]!.GetValue<string>()
            .Should().Be(sid);
        Directory.GetFiles(host.MailDrop, "*.eml").Length.Should().Be(mails);
        mail.Should().Contain($"To: {address}").And.Contain("Subject: ");

        (status, body) = await host.PostAsync($"{Api}/3pid/bind", new JsonObject { ["sid"] = sid, ["client_secret"] = "s3cret", ["mxid"] = bob }, bobToken);
        (status, body["errcode"]!.GetValue<string>()).Should().Be((400, "M_SESSION_NOT_VALIDATED"));
        (status, body) = await host.PostAsync($"{Api}/validate/email/submitToken",
            new JsonObject { ["sid"] = sid, ["client_secret"] = "s3cret", ["token"] = "wrong" }, bobToken);
        (status, body["errcode"]!.GetValue<string>()).Should().Be((400, "M_TOKEN_INCORRECT"));
        (status, body) = await host.PostAsync($"{Api}/validate/email/submitToken",
            new JsonObject { ["sid"] = sid, ["client_secret"] = "other", ["token"] = "wrong" }, bobToken);
        (status, body["errcode"]!.GetValue<string>()).Should().Be((404, "M_NO_VALID_SESSION"));

        // The link in the mail validates without a token (a browser follows it).
        var token = await ThirdPartyInviteFixture.MailTokenAsync(host.MailDrop, sid);
        (status, _) = await host.SendAsync(HttpMethod.Get, $"{Api}/validate/email/submitToken?sid={sid}&client_secret=s3cret&token={token}");
        status.Should().Be(200);
        (await host.SendAsync(HttpMethod.Get, $"{Api}/3pid/getValidated3pid?sid={sid}&client_secret=s3cret", token: bobToken))
            .Body["address"]!.GetValue<string>().Should().Be(address);

        // One may bind only one's own Matrix ID.
        var (carol, _) = await host.RegisterAsync();
        (status, body) = await host.PostAsync($"{Api}/3pid/bind", new JsonObject { ["sid"] = sid, ["client_secret"] = "s3cret", ["mxid"] = carol }, bobToken);
        (status, body["errcode"]!.GetValue<string>()).Should().Be((403, "M_FORBIDDEN"));
    }

    [Fact]
    public async Task Unbind_removes_the_binding_for_its_owner_only()
    {
        var (bob, bobToken) = await host.RegisterAsync();
        var (_, carolToken) = await host.RegisterAsync();
        var address = ThirdPartyInviteFixture.NewAddress();
        await host.BindAsync(address, bobToken);
        var unbind = new JsonObject { ["mxid"] = bob, ["threepid"] = new JsonObject { ["medium"] = "email", ["address"] = address } };

        var (status, body) = await host.PostAsync($"{Api}/3pid/unbind", unbind, carolToken);
        (status, body["errcode"]!.GetValue<string>()).Should().Be((403, "M_FORBIDDEN"));
        (await host.PostAsync($"{Api}/3pid/unbind", unbind, bobToken)).Status.Should().Be(200);
        (await host.IdentityLoadAsync<IdentityAssociation>(IdentityAssociation.IdFor("email", address))).Should().BeNull();
    }

    [Fact]
    public async Task OpenId_registration_issues_an_identity_server_token()
    {
        var (bob, bobToken) = await host.RegisterAsync();
        var openId = await host.PostOkAsync($"/_matrix/client/v3/user/{Uri.EscapeDataString(bob)}/openid/request_token", new JsonObject(), bobToken);
        openId["matrix_server_name"]!.GetValue<string>().Should().Be("localhost");
        var (_, userInfo) = await host.SendAsync(HttpMethod.Get,
            $"/_matrix/federation/v1/openid/userinfo?access_token={openId["access_token"]!.GetValue<string>()}");
        userInfo["sub"]!.GetValue<string>().Should().Be(bob);

        var registered = await host.PostOkAsync($"{Api}/account/register", openId);
        var isToken = registered["token"]!.GetValue<string>();
        (await host.SendAsync(HttpMethod.Get, $"{Api}/account", token: isToken)).Body["user_id"]!.GetValue<string>().Should().Be(bob);
        // An identity-server token is not a homeserver token.
        (await host.SendAsync(HttpMethod.Get, "/_matrix/client/v3/account/whoami", token: isToken)).Status.Should().Be(401);

        var (status, body) = await host.PostAsync($"{Api}/account/register",
            new JsonObject { ["access_token"] = "forged", ["matrix_server_name"] = "localhost", ["token_type"] = "Bearer" });
        (status, body["errcode"]!.GetValue<string>()).Should().Be((401, "M_UNAUTHORIZED"));
        (status, body) = await host.PostAsync($"{Api}/account/register",
            new JsonObject { ["access_token"] = "x", ["matrix_server_name"] = host.UntrustedProbe.Authority, ["token_type"] = "Bearer" });
        (status, body["errcode"]!.GetValue<string>()).Should().Be((403, "M_FORBIDDEN"));
        host.UntrustedProbe.Connections.Should().Be(0, "the identity server calls only homeservers it is configured for");
    }

    [Fact]
    public async Task Lookups_by_hash_and_by_address_are_indexed()
    {
        // Marten creates a document's table (and its indexes) on first use.
        await host.IdentityQueryAsync<IdentityAssociation>();
        await host.QueryAsync<Features.ThirdPartyInvites.ThirdPartyInviteAddress>();
        await using var session = host.Host.Services.GetRequiredService<Marten.IDocumentStore>().QuerySession();
        var indexes = await session.AdvancedSql.QueryAsync<string>(
            "select indexdef from pg_indexes where tablename in ('mt_doc_identityassociation', 'mt_doc_thirdpartyinviteaddress')", CancellationToken.None);
        indexes.Should().Contain(i => i.Contains("identity.mt_doc_identityassociation", StringComparison.OrdinalIgnoreCase)
                                      && i.Contains("lookupHash", StringComparison.OrdinalIgnoreCase));
        indexes.Should().Contain(i => i.Contains("thirdpartyinviteaddress", StringComparison.OrdinalIgnoreCase) && i.Contains("address", StringComparison.OrdinalIgnoreCase) && !i.Contains("pkey"));
    }

    [Fact]
    public async Task The_identity_servers_documents_live_in_its_own_store_and_schema()
    {
        var (_, bobToken) = await host.RegisterAsync();
        var address = ThirdPartyInviteFixture.NewAddress();
        await host.BindAsync(address, bobToken);

        (await host.IdentityLoadAsync<IdentityAssociation>(IdentityAssociation.IdFor("email", address))).Should().NotBeNull();
        var identityStore = host.Host.Services.GetRequiredService<IIdentityStore>();
        var homeserverStore = host.Host.Services.GetRequiredService<Marten.IDocumentStore>();
        identityStore.Should().NotBeSameAs(homeserverStore);
        ((Marten.StoreOptions)identityStore.Options).DatabaseSchemaName.Should().Be("identity");
        await using var session = homeserverStore.QuerySession();
        var tables = await session.AdvancedSql.QueryAsync<string>(
            "select schemaname || '.' || tablename from pg_tables where tablename like 'mt_doc_identity%'", CancellationToken.None);
        tables.Should().Contain("identity.mt_doc_identityassociation").And.OnlyContain(t => t.StartsWith("identity."),
            "the homeserver's schema holds none of the identity server's documents");
    }

    [Fact]
    public void The_identity_server_references_neither_the_Host_nor_the_room_store()
    {
        var references = typeof(IdentityService).Assembly.GetReferencedAssemblies().Select(a => a.Name).ToList();
        references.Should().Contain("Matrix.Rooms.Domain").And.NotContain(["Matrix.Rooms.Host", "Matrix.Rooms.Projections"]);
    }

    [Fact]
    public void The_signing_key_is_generated_once_and_persisted()
    {
        var options = host.Host.Services.GetRequiredService<IOptions<IdentityServerOptions>>();
        var running = host.Host.Services.GetRequiredService<IdentityKeyStore>();
        var publicKey = running.SigningKey.PublicKeyBase64;
        File.Exists(running.KeyFile).Should().BeTrue();

        using var reopened = new IdentityKeyStore(options, NullLogger<IdentityKeyStore>.Instance);
        reopened.SigningKey.PublicKeyBase64.Should().Be(publicKey);
        reopened.LookupPepper.Should().Be(running.LookupPepper);
        if (!OperatingSystem.IsWindows())
            File.GetUnixFileMode(running.KeyFile).Should().Be(UnixFileMode.UserRead | UnixFileMode.UserWrite);
    }
}
