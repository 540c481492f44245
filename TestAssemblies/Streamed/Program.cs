// Streamed state: OnLine alone writes the current section, and every stage that reads it comes after OnLine.
// The value travels in the messages: OnEntry forwards it without reading it, OnRecord reads it.
using System;
using System.Collections.Generic;

static class Program
{
    static string section = "none";                      // streamed: written by OnLine, read by OnRecord
    static int lines;                                    // owned by OnLine
    static readonly List<string> records = new();        // owned by OnRecord

    static void Main()
    {
        for (var i = 0; i < 300; i++)
            OnLine(i % 25 == 0 ? "# part " + (i / 25) : "item " + i);
        OnLine(null);
    }

    static void OnLine(string line)
    {
        if (line is not null)
        {
            lines++;
            if (line.StartsWith('#'))
            {
                section = line.Substring(2);
                return;
            }
        }
        OnEntry(line);
    }

    static void OnEntry(string entry) => OnRecord(entry is null ? null : entry.ToUpperInvariant());

    static void OnRecord(string record)
    {
        if (record is null)
        {
            Console.WriteLine($"{records.Count} records, last section {section}");
            for (var i = 0; i < records.Count; i += 37) Console.WriteLine(records[i]);
            return;
        }
        records.Add(section + ": " + record);
    }
}
