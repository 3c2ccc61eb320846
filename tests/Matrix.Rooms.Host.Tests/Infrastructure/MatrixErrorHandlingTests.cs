using System.Net.Sockets;
using System.Text.Json.Nodes;
using Matrix.Rooms.Domain.Errors;
using Matrix.Rooms.Host.Infrastructure.Http;
using Matrix.Rooms.Host.Tests.Security;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Matrix.Rooms.Host.Tests.Infrastructure;

/// <summary>
/// The error half of the pipeline on its own (<see cref="MatrixErrorHandling"/>: ASP.NET Core's exception handler with
/// <see cref="MatrixExceptionHandler"/>, status code pages, the request-text gate), over an in-memory server whose
/// endpoints throw what the Host's endpoints, Marten and Wolverine throw. Each answer is Matrix JSON, and only what is
/// not a Matrix answer is logged as an error.
/// </summary>
public sealed class MatrixErrorHandlingTests : IAsyncLifetime
{
    private readonly CapturingLoggerProvider _logs = new();
    private WebApplication _app = null!;
    private HttpClient _client = null!;

    public async Task InitializeAsync()
    {
        var builder = WebApplication.CreateBuilder();
        builder.WebHost.UseTestServer();
        builder.Logging.ClearProviders().AddProvider(_logs);
        builder.Services.AddMatrixErrorHandling();
        _app = builder.Build();
        _app.UseMatrixErrorHandling();
        _app.MapGet("/matrix", () => Throw(new MatrixException(MatrixError.NotFound("No such thing"))));
        _app.MapGet("/too-large", () => Throw(new BadHttpRequestException("big", StatusCodes.Status413PayloadTooLarge)));
        _app.MapGet("/bad-request", () => Throw(new BadHttpRequestException("Malformed request", StatusCodes.Status400BadRequest)));
        _app.MapGet("/nul", () => Throw(new InvalidOperationException("wrapped",
            new PostgresException("invalid byte sequence", "ERROR", "ERROR", "22021"))));
        _app.MapMethods("/database-down", ["GET", "PUT"], () => Throw(new NpgsqlException("Exception while reading from stream", new SocketException())));
        _app.MapGet("/contended", () => Throw(new AggregateException(new JasperFx.ConcurrencyException("conflict", null))));
        _app.MapGet("/bug", () => Throw(new InvalidOperationException("a bug")));
        _app.MapGet("/only-get", () => "ok");
        await _app.StartAsync();
        _client = _app.GetTestClient();
    }

    public async Task DisposeAsync()
    {
        _client.Dispose();
        await _app.DisposeAsync();
    }

    [Theory]
    [InlineData("GET", "/matrix", 404, "M_NOT_FOUND")]
    [InlineData("GET", "/too-large", 413, "M_TOO_LARGE")]
    [InlineData("GET", "/bad-request", 400, "M_BAD_JSON")]
    [InlineData("GET", "/nul", 400, "M_INVALID_PARAM")]
    [InlineData("GET", "/contended", 503, "M_UNKNOWN")]
    [InlineData("GET", "/database-down", 503, "M_UNKNOWN")]
    [InlineData("PUT", "/database-down", 503, "M_UNKNOWN")]
    [InlineData("GET", "/bug", 500, "M_UNKNOWN")]
    [InlineData("DELETE", "/only-get", 405, "M_UNRECOGNIZED")]
    [InlineData("GET", "/nowhere", 404, "M_UNRECOGNIZED")]
    [InlineData("GET", "/only-get?q=%00", 400, "M_INVALID_PARAM")]
    public async Task Every_failure_is_answered_as_matrix_json(string method, string url, int status, string errcode)
    {
        var (actualStatus, body, contentType) = await SendAsync(method, url);
        (actualStatus, body["errcode"]?.GetValue<string>()).Should().Be((status, errcode), body.ToJsonString());
        contentType.Should().Be("application/json");
        body["error"]!.GetValue<string>().Should().NotBeEmpty();
    }

    [Fact]
    public async Task A_database_outage_tells_a_read_nothing_changed_and_a_write_that_the_outcome_is_unknown()
    {
        var (_, read, _) = await SendAsync("GET", "/database-down");
        read["error"]!.GetValue<string>().Should().Contain("nothing was changed");
        read["retry_after_ms"]!.GetValue<long>().Should().BePositive();
        var (_, write, _) = await SendAsync("PUT", "/database-down");
        write["error"]!.GetValue<string>().Should().Contain("unknown");
    }

    [Fact]
    public async Task A_matrix_answer_is_not_logged_as_an_error_and_a_bug_is()
    {
        await SendAsync("GET", "/matrix");
        await SendAsync("GET", "/bad-request");
        _logs.Lines.Where(l => l.StartsWith("Error", StringComparison.Ordinal)).Should().BeEmpty("refusing a request is an answer, not a failure");

        await SendAsync("GET", "/bug");
        _logs.Containing("a bug").Should().Contain(l => l.StartsWith("Error", StringComparison.Ordinal), "an unexpected exception is logged with its stack");
    }

    private async Task<(int Status, JsonObject Body, string? ContentType)> SendAsync(string method, string url)
    {
        using var response = await _client.SendAsync(new HttpRequestMessage(new HttpMethod(method), url));
        var text = await response.Content.ReadAsStringAsync();
        return ((int)response.StatusCode, JsonNode.Parse(text) as JsonObject ?? new JsonObject(), response.Content.Headers.ContentType?.MediaType);
    }

    private static string Throw(Exception e) => throw e;
}
