// Fixture runs start processes and a broker: classes run one after another, methods inside a class too.
[assembly: DoNotParallelize]
