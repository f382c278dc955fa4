using System.Diagnostics;
using System.Text.RegularExpressions;
using Afm.Core.Spec;
using Afm.Profiling.Profile;
using Afm.Profiling.Reports;

namespace Afm.Profiling.Tests;

public sealed class WhatIfPageSpecs
{
    private static string Page() => WhatIfPage.Render(ProfileBuilder.Build("micro", Micro.Architecture(), BuiltInDeviceProfiles.PhoneNpu, new ProfileWorkload(16, 64, 16, 2)));

    [Fact]
    public void The_page_is_self_contained()
    {
        var html = Page();
        Assert.DoesNotMatch(new Regex("<(script|link|img)[^>]+(src|href)=", RegexOptions.IgnoreCase), html);
        Assert.Contains($"id=\"{WhatIfPage.DecodeTotalId}\"", html);
    }

    /// <summary>
    /// Headless Chromium (installed by .ci/run) opens the page; an appended script changes one layer's selector to
    /// 2-bit through a real change event and writes the totals before and after into the DOM that Chromium dumps.
    /// Without a browser on the machine the test is reported as skipped, never as passed.
    /// </summary>
    [SkippableFact]
    public async Task In_a_browser_toggling_a_layer_to_2_bit_lowers_the_displayed_decode_total()
    {
        var browser = new[] { "/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome" }.FirstOrDefault(File.Exists);
        Skip.If(browser is null, "Chromium is needed for this test; .ci/run installs it (apt-get install chromium).");
        var probe = """
            <script>
            const before = document.getElementById('total-decode-ms').textContent;
            const select = document.querySelector('select[name="layers.0.mlp.up_proj"]');
            select.value = 'pal2';
            select.dispatchEvent(new Event('change'));
            const after = document.getElementById('total-decode-ms').textContent;
            const out = document.createElement('pre');
            out.id = 'probe';
            out.textContent = 'before=' + before + ';after=' + after;
            document.body.appendChild(out);
            </script>
            """;
        var file = Path.Combine(Path.GetTempPath(), $"afm-whatif-{Guid.NewGuid():N}.html");
        var profileDir = Path.Combine(Path.GetTempPath(), $"afm-chromium-{Guid.NewGuid():N}");
        File.WriteAllText(file, Page().Replace("</body>", probe + "</body>", StringComparison.Ordinal));
        try
        {
            var start = new ProcessStartInfo(browser!, ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                $"--user-data-dir={profileDir}", "--dump-dom", new Uri(file).AbsoluteUri])
            { RedirectStandardOutput = true, RedirectStandardError = true };
            using var process = Process.Start(start)!;
            _ = process.StandardError.ReadToEndAsync();
            var dom = await process.StandardOutput.ReadToEndAsync().WaitAsync(TimeSpan.FromMinutes(3));
            await process.WaitForExitAsync();
            var match = Regex.Match(dom, @"before=([0-9.]+);after=([0-9.]+)");
            Assert.True(match.Success, "The probe's output is missing from the dumped DOM: " + dom[..Math.Min(500, dom.Length)]);
            double before = double.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
            double after = double.Parse(match.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture);
            Assert.True(after < before, $"decode total {before} -> {after}");
        }
        finally
        {
            File.Delete(file);
            if (Directory.Exists(profileDir)) Directory.Delete(profileDir, recursive: true);
        }
    }
}
