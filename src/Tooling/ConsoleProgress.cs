using System.Diagnostics;
using Matrix.Rooms.Tooling.Rebuild;
using Matrix.Rooms.Tooling.Transfer;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace Matrix.Rooms.Tooling;

/// <summary>
/// Progress for long tooling work, on standard error (standard output stays for results, e.g. an export to stdout):
/// a Spectre.Console bar with events done, events/s and the time remaining on a terminal; on a pipe or a log file,
/// one plain line every two seconds with the same figures.
/// </summary>
public sealed class ConsoleProgress : IRebuildObserver, ITransferObserver
{
    private static readonly IAnsiConsole Err = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
    private readonly string _title;
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private ProgressTask? _task;
    private long _done, _total;
    private long _lastLineDone = -1;
    private TimeSpan _lastLine = TimeSpan.Zero;
    private readonly Lock _lock = new();

    private ConsoleProgress(string title) => _title = title;

    /// <summary>Runs <paramref name="work"/> with a progress display fed by the observer it is given.</summary>
    public static async Task<T> RunAsync<T>(string title, Func<ConsoleProgress, Task<T>> work)
    {
        var progress = new ConsoleProgress(title);
        if (!Err.Profile.Capabilities.Interactive)
        {
            var plain = await work(progress);
            progress.PrintLine(force: true);
            return plain;
        }
        T result = default!;
        await Err.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new CountColumn(),
                new RateColumn(), new RemainingTimeColumn(), new SpinnerColumn())
            .StartAsync(async ctx =>
            {
                progress._task = ctx.AddTask(title, maxValue: Math.Max(1, progress._total));
                result = await work(progress);
                progress._task.Value = progress._task.MaxValue;
                progress._task.StopTask();
            });
        return result;
    }

    /// <summary>Events per second so far.</summary>
    public double Rate => _clock.Elapsed.TotalSeconds > 0 ? _done / _clock.Elapsed.TotalSeconds : 0;

    public void Planned(RebuildPlan plan)
    {
        Note($"Projections: {string.Join(", ", plan.Projections)}; {plan.TotalEvents:N0} events up to sequence {plan.HighestSequence:N0}");
        SetTotal(plan.TotalEvents);
    }

    public void Progress(long eventsDone, long eventsTotal)
    {
        SetTotal(eventsTotal);
        Set(eventsDone);
    }

    public void Started(long totalEvents, int rooms) => SetTotal(totalEvents);

    public void Advance(long events)
    {
        lock (_lock) Set(_done + events);
    }

    public void Note(string message)
    {
        if (_task is null) Console.Error.WriteLine($"{_title}: {message}");
        else Err.MarkupLine($"[grey]{Markup.Escape(message)}[/]");
    }

    private void SetTotal(long total)
    {
        _total = total;
        if (_task is not null) _task.MaxValue = Math.Max(1, total);
    }

    private void Set(long done)
    {
        _done = done;
        if (_task is not null) _task.Value = Math.Min(done, _task.MaxValue);
        else PrintLine(force: false);
    }

    private void PrintLine(bool force)
    {
        var now = _clock.Elapsed;
        if (!force && now - _lastLine < TimeSpan.FromSeconds(2)) return;
        if (force && _done == _lastLineDone) return; // the closing line would repeat the last one
        (_lastLine, _lastLineDone) = (now, _done);
        var rate = Rate;
        var eta = rate > 0 && _total > _done ? TimeSpan.FromSeconds((_total - _done) / rate) : TimeSpan.Zero;
        var percent = _total > 0 ? 100.0 * _done / _total : 100;
        Console.Error.WriteLine($"{_title}: {_done:N0}/{_total:N0} events ({percent:F0}%), {rate:N0} events/s, elapsed {now:hh\\:mm\\:ss}, ETA {eta:hh\\:mm\\:ss}");
    }

    private sealed class RateColumn : ProgressColumn
    {
        public override IRenderable Render(RenderOptions options, ProgressTask task, TimeSpan deltaTime) =>
            new Text($"{task.Speed ?? 0:N0} events/s", new Style(Color.Green));
    }

    private sealed class CountColumn : ProgressColumn
    {
        public override IRenderable Render(RenderOptions options, ProgressTask task, TimeSpan deltaTime) =>
            new Text($"{task.Value:N0}/{task.MaxValue:N0}");
    }
}
