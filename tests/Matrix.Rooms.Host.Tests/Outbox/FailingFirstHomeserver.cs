using System.Text.Json.Nodes;
using Matrix.Rooms.Domain.Errors;
using Matrix.Rooms.IdentityServer;

namespace Matrix.Rooms.Host.Tests.Outbox;

/// <summary>
/// The embedding homeserver as the embedded identity server sees it, answering the next <see cref="FailNext"/>
/// <c>/3pid/onbind</c> notifications with a 500 (what an overloaded homeserver answers) before passing them on.
/// </summary>
public sealed class FailingFirstHomeserver(IEmbeddingHomeserver inner) : IEmbeddingHomeserver
{
    private int _failures;
    private int _calls;

    public int OnBindCalls => Volatile.Read(ref _calls);

    public void FailNext(int count)
    {
        Interlocked.Exchange(ref _failures, count);
        Interlocked.Exchange(ref _calls, 0);
    }

    public string ServerName => inner.ServerName;

    public Task<string?> UserOfOpenIdTokenAsync(string openIdToken, CancellationToken ct) => inner.UserOfOpenIdTokenAsync(openIdToken, ct);

    public Task<MatrixError?> OnBindAsync(JsonObject notification, CancellationToken ct)
    {
        Interlocked.Increment(ref _calls);
        return Interlocked.Decrement(ref _failures) >= 0
            ? Task.FromResult<MatrixError?>(MatrixError.Unknown(500, "Internal server error"))
            : inner.OnBindAsync(notification, ct);
    }

    public Task<string?> UserOfAccessTokenAsync(string accessToken, CancellationToken ct) => inner.UserOfAccessTokenAsync(accessToken, ct);
}
