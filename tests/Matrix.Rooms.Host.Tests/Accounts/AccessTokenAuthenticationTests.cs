using Matrix.Rooms.Web;
using System.Collections.Concurrent;
using System.Reflection;
using System.Text.Json.Nodes;
using Alba;
using Marten;
using Matrix.Rooms.Host.Features.Accounts;
using Matrix.Rooms.Host.Infrastructure.Logging;
using Matrix.Rooms.Host.Tests.Support;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Wolverine;

namespace Matrix.Rooms.Host.Tests.Accounts;

/// <summary>
/// The access-token authentication handler over real HTTP (Alba), on a Host whose Marten logger counts the sessions each
/// request opens: the caller is resolved once, with the request's own session, and endpoints that take no token cost
/// no lookup.
/// </summary>
public sealed class AccessTokenAuthenticationTests(AccessTokenAuthenticationTests.CountingHost host)
    : IClassFixture<AccessTokenAuthenticationTests.CountingHost>
{
    [Fact]
    public async Task A_room_read_opens_one_session_for_the_caller_and_the_read_together()
    {
        var token = await host.RegisterAsync();
        var room = (await host.SendAsync(HttpMethod.Post, "/_matrix/client/v3/createRoom", token, new JsonObject())).Body["room_id"]!.GetValue<string>();

        var (status, body, sessions) = await host.SendCountedAsync(HttpMethod.Get,
            $"/_matrix/client/v3/rooms/{Uri.EscapeDataString(room)}/messages?dir=b", token);

        status.Should().Be(200, body.ToJsonString());
        sessions.Should().Be(1, "the handler looks the token up with the request's IQuerySession, which the read then uses");
    }

    [Fact]
    public async Task Whoami_is_answered_from_the_authenticated_caller()
    {
        var token = await host.RegisterAsync();
        var (status, body, sessions) = await host.SendCountedAsync(HttpMethod.Get, "/_matrix/client/v3/account/whoami", token);
        status.Should().Be(200);
        body["is_guest"]!.GetValue<bool>().Should().BeFalse();
        body["device_id"]!.GetValue<string>().Should().NotBeEmpty();
        sessions.Should().Be(1);
    }

    [Fact]
    public async Task An_endpoint_that_takes_no_token_does_not_look_one_up()
    {
        var (status, _, sessions) = await host.SendCountedAsync(HttpMethod.Get, "/_matrix/client/v3/login", "mrt_not-a-real-token-at-all");
        status.Should().Be(200);
        sessions.Should().Be(0);
    }

    [Fact]
    public async Task An_unknown_token_is_401_M_UNKNOWN_TOKEN_with_soft_logout_false_and_a_missing_one_M_MISSING_TOKEN()
    {
        var (status, body, _) = await host.SendCountedAsync(HttpMethod.Get, "/_matrix/client/v3/account/whoami", "mrt_unknownunknownunknown");
        (status, body["errcode"]!.GetValue<string>()).Should().Be((401, "M_UNKNOWN_TOKEN"));
        body["soft_logout"]!.GetValue<bool>().Should().BeFalse("spec 'Soft logout': the session is gone");

        (status, body, _) = await host.SendCountedAsync(HttpMethod.Get, "/_matrix/client/v3/account/whoami", token: null);
        (status, body["errcode"]!.GetValue<string>()).Should().Be((401, "M_MISSING_TOKEN"));
        body.ContainsKey("soft_logout").Should().BeFalse();
    }

    [Fact]
    public async Task The_query_parameter_token_authenticates_when_there_is_no_header()
    {
        var token = await host.RegisterAsync();
        var (status, body, _) = await host.SendCountedAsync(HttpMethod.Get, $"/_matrix/client/v3/account/whoami?access_token={token}", token: null);
        status.Should().Be(200, body.ToJsonString());
    }

    /// <summary>
    /// The other half of failing closed: an endpoint that reads the caller cannot be mapped without the policy, and a
    /// client endpoint without the policy says it takes no token.
    /// </summary>
    [Fact]
    public void Every_endpoint_that_takes_a_caller_requires_the_caller_policy_and_every_other_client_endpoint_is_anonymous()
    {
        var endpoints = host.Host.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>().ToList();
        var takingCaller = endpoints.Where(e => e.Metadata.OfType<MethodInfo>().Any(m => m.GetParameters().Any(p => p.ParameterType == typeof(Caller))))
            .ToList();
        takingCaller.Should().HaveCountGreaterThan(25);
        foreach (var endpoint in takingCaller)
        {
            RequiresCaller(endpoint).Should().BeTrue($"{endpoint.DisplayName} takes a Caller");
            endpoint.Metadata.GetMetadata<IAllowAnonymous>().Should().BeNull($"{endpoint.DisplayName} takes a Caller");
        }

        foreach (var endpoint in endpoints.Where(e => (e.RoutePattern.RawText ?? "").StartsWith("/_matrix/client/", StringComparison.Ordinal)))
            (RequiresCaller(endpoint) || endpoint.Metadata.GetMetadata<IAllowAnonymous>() is not null)
                .Should().BeTrue($"{endpoint.DisplayName} must either require a caller or say it takes no token");
    }

    private static bool RequiresCaller(Endpoint endpoint) =>
        endpoint.Metadata.GetOrderedMetadata<IAuthorizeData>().Any(a => a.Policy == AccessTokenAuthentication.CallerPolicy);

    /// <summary>A Host on its own database whose Marten logger counts the sessions opened per request (by a request header).</summary>
    public sealed class CountingHost : IAsyncLifetime
    {
        private const string RequestHeader = "x-test-request";
        private readonly SessionCounter _sessions = new();

        public IAlbaHost Host { get; private set; } = null!;

        public async Task InitializeAsync()
        {
            var connectionString = TestDatabase.NewDatabase("auth");
            Host = await AlbaHost.For<Program>(builder =>
            {
                builder.UseSetting("ConnectionStrings:Marten", connectionString);
                builder.UseSetting("MatrixRooms:PasswordHashIterations", "1000");
                builder.ConfigureServices(services =>
                {
                    services.RunWolverineInSoloMode();
                    services.AddHttpContextAccessor();
                    services.ConfigureMarten(options => options.Logger(_sessions));
                });
            });
            _sessions.Accessor = Host.Services.GetRequiredService<IHttpContextAccessor>();
        }

        public async Task DisposeAsync() => await Host.DisposeAsync();

        public async Task<string> RegisterAsync()
        {
            var (status, body) = await SendAsync(HttpMethod.Post, "/_matrix/client/v3/register", token: null, new JsonObject
            {
                ["username"] = "auth" + Guid.NewGuid().ToString("N")[..10], ["password"] = "correct horse battery",
                ["auth"] = new JsonObject { ["type"] = "m.login.dummy" },
            });
            status.Should().Be(200, body.ToJsonString());
            return body["access_token"]!.GetValue<string>();
        }

        public async Task<(int Status, JsonObject Body)> SendAsync(HttpMethod method, string url, string? token, JsonObject? body = null)
        {
            var (status, json, _) = await SendCountedAsync(method, url, token, body);
            return (status, json);
        }

        /// <summary>Sends a request and returns its answer and how many Marten sessions it opened.</summary>
        public async Task<(int Status, JsonObject Body, int Sessions)> SendCountedAsync(HttpMethod method, string url, string? token,
            JsonObject? body = null)
        {
            var id = Guid.NewGuid().ToString("N");
            var result = await Host.Scenario(s =>
            {
                if (method == HttpMethod.Get) s.Get.Url(url);
                else s.Post.Url(url);
                if (body is not null) s.Body.TextIs(body.ToJsonString());
                if (token is not null) s.WithBearerToken(token);
                s.WithRequestHeader(RequestHeader, id);
                s.IgnoreStatusCode();
            });
            var text = await result.ReadAsTextAsync();
            return (result.Context.Response.StatusCode, JsonNode.Parse(text) as JsonObject ?? new JsonObject(), _sessions.For(id));
        }

        private sealed class SessionCounter : IMartenLogger
        {
            private readonly ConcurrentDictionary<string, int> _counts = new();
            private readonly ParameterFreeMartenLogger _inner = new(NullLogger.Instance);

            public IHttpContextAccessor? Accessor { get; set; }

            public int For(string request) => _counts.GetValueOrDefault(request);

            public IMartenSessionLogger StartSession(IQuerySession session)
            {
                if (Accessor?.HttpContext?.Request.Headers[RequestHeader].ToString() is { Length: > 0 } request)
                    _counts.AddOrUpdate(request, 1, (_, n) => n + 1);
                return _inner.StartSession(session);
            }

            public void SchemaChange(string sql) => _inner.SchemaChange(sql);
        }
    }
}
