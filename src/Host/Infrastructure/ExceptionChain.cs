namespace Matrix.Rooms.Host.Infrastructure;

public static class ExceptionChain
{
    /// <summary>The first <typeparamref name="T"/> in <paramref name="e"/>, its inner exceptions and aggregates' members.</summary>
    public static T? Find<T>(this Exception? e) where T : Exception => e switch
    {
        null => null,
        T match => match,
        AggregateException all => all.InnerExceptions.Select(x => x.Find<T>()).FirstOrDefault(x => x is not null),
        _ => e.InnerException.Find<T>(),
    };
}
