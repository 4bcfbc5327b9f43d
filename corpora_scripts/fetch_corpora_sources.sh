#!/usr/bin/env bash
# Download the official public sources of the corpora and ontologies into TARGET (default: assets/),
# laid out like ../shared/data: ncbi_disease/, medic/, bc5cdr/, mesh/, nlmchem/, medmentions/.
# Not run in CI. UMLS (for MedMentions) needs a UTS licence: download a release yourself from
# https://www.nlm.nih.gov/research/umls/licensedcontent/umlsknowledgesources.html and run prepare_umls.py.
#
#   bash corpora_scripts/fetch_corpora_sources.sh assets/ [MESH_YEAR]
set -euo pipefail

TARGET="${1:-assets}"
MESH_YEAR="${2:-2024}"

fetch() {  # fetch URL FILE: download to FILE unless it exists (partial downloads never land at FILE)
    local url="$1" file="$2"
    if [[ -s "$file" ]]; then echo "exists: $file"; return; fi
    mkdir -p "$(dirname "$file")"
    echo "downloading $url"
    curl --fail --location --retry 3 --output "$file.part" "$url"
    mv "$file.part" "$file"
}

# NCBI Disease corpus (Doğan et al. 2014), public domain.
NCBI=https://www.ncbi.nlm.nih.gov/CBBresearch/Dogan/DISEASE
for split in NCBItrainset NCBIdevelopset NCBItestset; do
    fetch "$NCBI/${split}_corpus.zip" "$TARGET/ncbi_disease/${split}_corpus.zip"
    unzip -o -q "$TARGET/ncbi_disease/${split}_corpus.zip" -d "$TARGET/ncbi_disease"
done

# MEDIC disease vocabulary from CTD (see the file's header for the terms of use).
fetch https://ctdbase.org/reports/CTD_diseases.tsv.gz "$TARGET/medic/CTD_diseases.tsv.gz"

# BioCreative V CDR corpus: https://biocreative.bioinformatics.udel.edu/tasks/biocreative-v/track-3-cdr/
fetch https://biocreative.bioinformatics.udel.edu/media/store/files/2016/CDR_Data.zip "$TARGET/bc5cdr/CDR_Data.zip"
unzip -o -q "$TARGET/bc5cdr/CDR_Data.zip" -d "$TARGET/bc5cdr"

# MeSH descriptors and supplementary concept records (XML) from NLM.
MESH=https://nlmpubs.nlm.nih.gov/projects/mesh/MESH_FILES/xmlmesh
fetch "$MESH/desc${MESH_YEAR}.xml" "$TARGET/mesh/desc${MESH_YEAR}.xml"
fetch "$MESH/supp${MESH_YEAR}.xml" "$TARGET/mesh/supp${MESH_YEAR}.xml"

# NLM-Chem corpus (Islamaj et al. 2021): per-article BioC XML plus pmcids_{train,dev,test}.txt.
fetch https://ftp.ncbi.nlm.nih.gov/pub/lu/NLMChem/NLM-Chem-corpus.zip "$TARGET/nlmchem/NLM-Chem-corpus.zip"
unzip -o -q "$TARGET/nlmchem/NLM-Chem-corpus.zip" -d "$TARGET/nlmchem"

# MedMentions (Mohan & Li 2019), CC0: full/ and st21pv/ with corpus_pubtator.txt.gz and PMID split lists.
if [[ ! -d "$TARGET/medmentions/.git" ]]; then
    git clone --depth 1 https://github.com/chanzuckerberg/MedMentions "$TARGET/medmentions"
fi

echo "done: sources in $TARGET"
