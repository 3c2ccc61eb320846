using JasperFx;
using JasperFx.Events;
using Marten;
using Marten.Exceptions;
using Wolverine;
using Wolverine.ErrorHandling;
using Wolverine.Middleware;
using Wolverine.Runtime.Handlers;

namespace Matrix.Rooms.Host.Features.Rooms;

/// <summary>
/// The handlers of this class write to a room: each runs behind <see cref="RoomWriteMiddleware"/> (lock and load) and
/// takes the <see cref="RoomWrite"/> it loaded. Their messages are <see cref="Domain.Rooms.RoomCommand"/>s.
/// </summary>
[AttributeUsage(AttributeTargets.Class)]
public sealed class WritesToRoomAttribute : Attribute;

/// <summary>
/// The room-write middleware for <see cref="WritesToRoomAttribute"/> handlers, and Wolverine's error policy for the room writes, in one place instead of in each handler. Room writers queue on the
/// room's lock (<see cref="RoomWriteMiddleware"/>), so a version conflict means a writer that takes no lock (a tool
/// writing the store directly) appended meanwhile: the retry runs the whole chain again — lock, load, decide — on the
/// new state. Exhausted: 503 (MatrixExceptionHandler). Applied to every chain: a handler that appends to a room without
/// the middleware (the third-party invites) gets the same retries.
/// </summary>
public static class RoomWritePolicy
{
    public static WolverineOptions AddRoomWrites(this WolverineOptions opts)
    {
        // As ForMessagesOfType<T>().AddMiddleware does, but for the marked handlers only: MatchByMessageType lets the
        // middleware take the message as its base type, RoomCommand.
        var middleware = new MiddlewarePolicy();
        middleware.AddType(typeof(RoomWriteMiddleware), chain => chain is HandlerChain handlers
            && handlers.Handlers.Any(h => h.HandlerType.IsDefined(typeof(WritesToRoomAttribute), inherit: false))).MatchByMessageType = true;
        opts.Policies.Add(middleware);
        opts.OnException<EventStreamUnexpectedMaxEventIdException>()
            .RetryWithCooldown(TimeSpan.Zero, TimeSpan.FromMilliseconds(10), TimeSpan.FromMilliseconds(50),
                TimeSpan.FromMilliseconds(100), TimeSpan.FromMilliseconds(200));
        // A transaction ID stored meanwhile by another node's writer: the retry finds it and answers its event.
        opts.OnException<DocumentAlreadyExistsException>(e => e.DocType == typeof(SentTransaction)).RetryTimes(2);
        opts.OnException<ConcurrencyException>()
            .RetryWithCooldown(TimeSpan.FromMilliseconds(5), TimeSpan.FromMilliseconds(20), TimeSpan.FromMilliseconds(50));
        return opts;
    }
}
